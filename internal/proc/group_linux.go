package proc

import (
	"errors"
	"os/exec"
	"syscall"
)

// Isolate puts cmd in a process group of its own, killed as a whole
// (helpers the tool started included) when its context ends, and killed
// too if Quarry dies first (Pdeathsig). Call it before cmd.Start.
func Isolate(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		// The group id is the leader's pid (Setpgid with Pgid 0).
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return err
		}
		return nil
	}
}
