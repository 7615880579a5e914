package multi

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// On Linux every server gets PR_SET_PDEATHSIG, so it is killed when the test
// binary dies, even by a panic that skips every cleanup. The signal fires
// when the thread that started the child exits, so all servers are started
// from one goroutine locked to its thread for the life of the process (as
// store/redisstore/redistest does for redis-server).

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	spawnOnce sync.Once
	spawnCh   = make(chan spawnReq)
)

func startProcess(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for r := range spawnCh {
				r.done <- r.cmd.Start()
			}
		}()
	})
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r := spawnReq{cmd: cmd, done: make(chan error, 1)}
	spawnCh <- r
	return <-r.done
}
