package proc

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIsolateKillsTheGroup: at the context's end the whole group dies,
// including a child the tool started.
func TestIsolateKillsTheGroup(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	// The shell prints the pid of a child of its own, then waits.
	cmd := exec.CommandContext(ctx, "sh", "-c", "sleep 30 & echo $!; sleep 30")
	out := &Buffer{Max: 1 << 10}
	cmd.Stdout = out
	Isolate(cmd)
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err == nil {
		t.Fatal("the command was not killed")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil {
		t.Fatalf("child pid %q: %v", out.String(), err)
	}
	// Dead means gone, or a zombie waiting for init to reap it.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the tool's child %d outlived the group kill", pid)
		}
	}
}
