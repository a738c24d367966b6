package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/quarryhq/quarry/internal/proc"
)

// stderrMax bounds the stderr kept from a call (for error messages).
const stderrMax = 16 << 10

// waitDelay is how long Wait waits for the output pipes after the kill.
const waitDelay = 2 * time.Second

// staged is the input copied into a private directory of ours.
type staged struct {
	dir    string
	path   string
	format Format
}

func (s *staged) remove() { _ = os.RemoveAll(s.dir) }

// inputArgs are the input options of every call: the protocol whitelist,
// the forced demuxer and our own file.
func (s *staged) inputArgs() []string {
	args := []string{"-protocol_whitelist", "file", "-f", string(s.format)}
	if s.format == FormatMOV {
		args = append(args, "-enable_drefs", "0") // no external data references
	}
	return append(args, "-i", "file:"+s.path)
}

// stage sniffs the input, refusing what it does not accept before any
// tool runs, then copies it into a new private directory under TempDir.
// The caller must call remove.
func (t *Tools) stage(ctx context.Context, r io.ReaderAt, size int64) (*staged, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("%w: empty input", ErrUnsupportedMedia)
	}
	format, err := Sniff(r, size)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(t.cfg.TempDir, "quarry-media-")
	if err != nil {
		return nil, fmt.Errorf("media: making a temp dir: %w", err)
	}
	s := &staged{dir: dir, path: filepath.Join(dir, "input"), format: format}
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		_, err = io.Copy(f, io.NewSectionReader(r, 0, size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		s.remove()
		return nil, fmt.Errorf("media: copying the input: %w", err)
	}
	return s, nil
}

// run runs one ffmpeg or ffprobe call within Config.Timeout, in its own
// process group killed as a whole at the deadline, with stdin from
// /dev/null, an empty environment and bounded stderr. dir is the call's
// private directory, whose paths are removed from error messages.
func (t *Tools) run(ctx context.Context, bin, dir string, args []string, stdout io.Writer) error {
	name := filepath.Base(bin)
	cctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"LC_ALL=C"} // no secrets of ours in the child's environment
	cmd.Stdout = stdout
	stderr := &proc.Buffer{Max: stderrMax}
	cmd.Stderr = stderr
	cmd.WaitDelay = waitDelay
	proc.Isolate(cmd)
	start := time.Now()
	err := cmd.Run()
	t.cfg.Logger.Debug("media: command ran", "cmd", name, "args", args, "duration", time.Since(start), "err", err)
	if err == nil {
		return nil
	}
	if cctx.Err() != nil {
		if ctx.Err() == context.Canceled {
			return fmt.Errorf("media: %s: %w", name, context.Canceled)
		}
		return fmt.Errorf("%w: %s was killed at its deadline: %w", ErrTimeout, name, context.DeadlineExceeded)
	}
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s: %w", ErrUnavailable, name, err)
	}
	if errors.Is(err, proc.ErrFull) {
		return fmt.Errorf("%w: %s output over %d bytes", ErrTooLarge, name, t.cfg.MaxOutputBytes)
	}
	msg := strings.ReplaceAll(stderr.String(), dir+string(filepath.Separator), "")
	msg = strings.ReplaceAll(msg, dir, "")
	if line := proc.LastLine(msg); line != "" {
		return fmt.Errorf("%w: %s: %s", ErrMalformed, name, line)
	}
	return fmt.Errorf("%w: %s: %w", ErrMalformed, name, err)
}
