package childproc

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// PR_SET_PDEATHSIG fires when the thread that started the child exits, not
// the process, so every child is started from one goroutine locked to its
// thread for the life of the process.

type startReq struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	startOnce sync.Once
	startCh   = make(chan startReq)
)

func start(cmd *exec.Cmd) error {
	startOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range startCh {
				r.done <- r.cmd.Start()
			}
		}()
	})
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r := startReq{cmd: cmd, done: make(chan error, 1)}
	startCh <- r
	return <-r.done
}
