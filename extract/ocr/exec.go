package ocr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/quarryhq/quarry/internal/proc"
)

// Output caps of one child process.
const (
	// maxStdout bounds the text of one page (a dense page is ~10 KiB).
	maxStdout = 4 << 20
	// maxStderr bounds the diagnostics kept from one run.
	maxStderr = 64 << 10
	// waitDelay is how long Wait waits for the output pipes after the
	// process exited or was killed (a grandchild could hold them).
	waitDelay = 5 * time.Second
)

// errOutputTooLarge: a tool wrote more than maxStdout.
var errOutputTooLarge = errors.New("the OCR output is over 4 MiB")

// runResult is the outcome of one run.
type runResult struct {
	stdout []byte
	stderr string
}

// runner runs the tools, under a memory limit when prlimit is set.
type runner struct {
	// prlimit is the prlimit program (util-linux), "" for no memory
	// limit; maxMemory the address-space limit it sets, in bytes.
	prlimit   string
	maxMemory int64
}

// run runs the tool at path with args in dir, feeding it stdin (nil: none).
//
// The process gets its own process group, killed as a whole (SIGKILL to
// -pgid) when ctx ends; a minimal environment (PATH, TMPDIR and HOME set to
// dir so that stray temp files land where the caller removes them,
// OMP_THREAD_LIMIT=1 so tesseract runs one thread and pages run in
// parallel instead, LC_ALL=C, and TESSDATA_PREFIX when the parent has it);
// an address-space limit (RLIMIT_AS, set by prlimit, which then executes
// the tool in its place); and capped stdout and stderr. Arguments are never
// built from document content: inputs come through stdin or files of dir.
func (r runner) run(ctx context.Context, dir string, stdin io.Reader, path string, args ...string) (runResult, error) {
	if r.prlimit != "" {
		args = append([]string{"--as=" + strconv.FormatInt(r.maxMemory, 10), "--", path}, args...)
		path = r.prlimit
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.Env = childEnv(dir)
	cmd.Stdin = stdin
	stdout := &proc.Buffer{Max: maxStdout}
	stderr := &proc.Buffer{Max: maxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// In a group of its own, killed as a whole: a renderer or helper the
	// tool started dies with it.
	proc.Isolate(cmd)
	cmd.WaitDelay = waitDelay
	err := cmd.Run()
	res := runResult{stdout: stdout.Bytes(), stderr: stderr.String()}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return res, ctxErr
	}
	if err != nil {
		return res, err
	}
	if stdout.Over {
		return res, errOutputTooLarge
	}
	return res, nil
}

// childEnv is the environment of a tool run in dir.
func childEnv(dir string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"TMPDIR=" + dir,
		"HOME=" + dir,
		"LC_ALL=C",
		"OMP_THREAD_LIMIT=1",
	}
	if v, ok := os.LookupEnv("TESSDATA_PREFIX"); ok {
		env = append(env, "TESSDATA_PREFIX="+v)
	}
	return env
}

// toolError describes a failed run for a warning: the tool, how it ended,
// and the last diagnostic line it printed (leptonica and tesseract print
// "Error in ..." lines), with dir - a temp path - taken out.
func toolError(tool string, err error, stderr, dir string) error {
	var exit *exec.ExitError
	how := err.Error()
	if errors.As(err, &exit) {
		how = exit.ProcessState.String() // "exit status 1", "signal: killed"
	}
	if line := lastDiagnostic(stderr); line != "" {
		if dir != "" {
			line = strings.ReplaceAll(line, dir, "")
		}
		return fmt.Errorf("%s failed (%s): %s", tool, how, line)
	}
	return fmt.Errorf("%s failed (%s)", tool, how)
}

// lastDiagnostic returns the last line of stderr that reports an error,
// at most 160 bytes of it.
func lastDiagnostic(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		low := strings.ToLower(l)
		if strings.Contains(low, "error") || strings.Contains(low, "cannot") || strings.Contains(low, "can't") {
			if len(l) > 160 {
				l = strings.ToValidUTF8(l[:160], "") + "..."
			}
			return l
		}
	}
	return ""
}
