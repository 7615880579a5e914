// Package childproc starts the child processes of tests (redis-server,
// frontmcp serve) so that they die with the test binary, even when a panic
// or a kill skips every cleanup.
package childproc

import "os/exec"

// Start starts cmd like cmd.Start. On Linux the child also gets
// PR_SET_PDEATHSIG (SIGKILL), so the kernel kills it when the test binary
// exits; elsewhere it is a plain cmd.Start. Start sets cmd.SysProcAttr.
func Start(cmd *exec.Cmd) error { return start(cmd) }
