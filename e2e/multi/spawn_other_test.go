//go:build !linux

package multi

import "os/exec"

func startProcess(cmd *exec.Cmd) error { return cmd.Start() }
