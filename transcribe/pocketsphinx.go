package transcribe

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quarryhq/quarry/internal/proc"
)

// Defaults of [PocketsphinxConfig].
const (
	DefaultPocketsphinxBinary   = "pocketsphinx_continuous"
	DefaultPocketsphinxModelDir = "/usr/share/pocketsphinx/model/en-us"
	DefaultPocketsphinxTimeout  = 30 * time.Minute
	DefaultMaxOutputBytes       = 16 << 20
)

const (
	stderrMax = 16 << 10
	waitDelay = 2 * time.Second
)

// PocketsphinxConfig configures [Pocketsphinx]. The zero value is usable
// on Debian with the pocketsphinx and pocketsphinx-en-us packages.
type PocketsphinxConfig struct {
	// Binary is the pocketsphinx 5prealpha command line tool, looked up in
	// PATH when it holds no slash. Default "pocketsphinx_continuous".
	Binary string
	// ModelDir holds the en-us model as Debian's pocketsphinx-en-us
	// installs it. Default DefaultPocketsphinxModelDir. HMM, LM and Dict
	// default to its en-us, en-us.lm.bin and cmudict-en-us.dict.
	ModelDir string
	HMM      string
	LM       string
	Dict     string
	// Language is reported in Transcript.Language. Default "en-us".
	Language string
	// TempDir is where each call makes (and always removes) its private
	// working directory. Default os.TempDir().
	TempDir string
	// Timeout bounds one run; at the deadline its process group is
	// killed and the call fails with ErrTimeout. Default
	// DefaultPocketsphinxTimeout.
	Timeout time.Duration
	// MaxOutputBytes bounds the tool's standard output kept in memory;
	// past it the call fails with ErrUpstream. Default
	// DefaultMaxOutputBytes.
	MaxOutputBytes int64
	// Logger receives debug records of the runs (never the text).
	// Default: discard.
	Logger *slog.Logger
}

// Pocketsphinx recognises speech offline with CMU pocketsphinx 5prealpha
// (Debian's pocketsphinx_continuous), the en-us model.
type Pocketsphinx struct {
	cfg PocketsphinxConfig
	bin string
}

var _ Transcriber = (*Pocketsphinx)(nil)

// NewPocketsphinx checks that the binary and the model files are there and
// returns the engine, or an error wrapping ErrUnavailable.
func NewPocketsphinx(cfg PocketsphinxConfig) (*Pocketsphinx, error) {
	if cfg.Binary == "" {
		cfg.Binary = DefaultPocketsphinxBinary
	}
	if cfg.ModelDir == "" {
		cfg.ModelDir = DefaultPocketsphinxModelDir
	}
	if cfg.HMM == "" {
		cfg.HMM = filepath.Join(cfg.ModelDir, "en-us")
	}
	if cfg.LM == "" {
		cfg.LM = filepath.Join(cfg.ModelDir, "en-us.lm.bin")
	}
	if cfg.Dict == "" {
		cfg.Dict = filepath.Join(cfg.ModelDir, "cmudict-en-us.dict")
	}
	if cfg.Language == "" {
		cfg.Language = "en-us"
	}
	if cfg.TempDir == "" {
		cfg.TempDir = os.TempDir()
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultPocketsphinxTimeout
	}
	if cfg.MaxOutputBytes == 0 {
		cfg.MaxOutputBytes = DefaultMaxOutputBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeout < 0 || cfg.MaxOutputBytes < 0 {
		return nil, errors.New("transcribe: PocketsphinxConfig.Timeout and MaxOutputBytes must not be negative")
	}
	bin, err := exec.LookPath(cfg.Binary)
	if err != nil {
		return nil, fmt.Errorf("%w: pocketsphinx: %w", ErrUnavailable, err)
	}
	for _, p := range []string{cfg.HMM + "/mdef", cfg.LM, cfg.Dict} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%w: pocketsphinx model: %w", ErrUnavailable, err)
		}
	}
	return &Pocketsphinx{cfg: cfg, bin: bin}, nil
}

// Name returns "pocketsphinx".
func (p *Pocketsphinx) Name() string { return "pocketsphinx" }

// Transcribe runs pocketsphinx_continuous on a copy of the audio in a
// private temp directory. Each utterance (speech between pauses) becomes a
// Segment timed by its first and last word.
func (p *Pocketsphinx) Transcribe(ctx context.Context, wav io.ReaderAt, size int64) (*Transcript, error) {
	audio, err := parseWAV(wav, size)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(p.cfg.TempDir, "quarry-transcribe-*")
	if err != nil {
		return nil, fmt.Errorf("transcribe: temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	// Our own copy with a canonical 44-byte header: pocketsphinx 5prealpha
	// skips exactly 44 bytes of a .wav file.
	in := filepath.Join(dir, "audio.wav")
	if err := writeFile(in, audio); err != nil {
		return nil, fmt.Errorf("transcribe: staging the audio: %w", err)
	}
	args := []string{
		"-infile", in, "-time", "yes",
		"-hmm", p.cfg.HMM, "-lm", p.cfg.LM, "-dict", p.cfg.Dict,
		"-samprate", strconv.Itoa(SampleRate),
	}
	cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, p.bin, args...)
	cmd.Dir = dir
	cmd.Env = []string{"LC_ALL=C"} // no secrets of ours in the child's environment
	stdout := &proc.Buffer{Max: p.cfg.MaxOutputBytes, Strict: true}
	stderr := &proc.Buffer{Max: stderrMax}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = waitDelay
	proc.Isolate(cmd)
	start := time.Now()
	err = cmd.Run()
	p.cfg.Logger.Debug("transcribe: pocketsphinx ran", "audio", audio.duration(), "duration", time.Since(start), "err", err)
	if err != nil {
		switch {
		case ctx.Err() == context.Canceled:
			return nil, fmt.Errorf("transcribe: pocketsphinx: %w", context.Canceled)
		case cctx.Err() != nil:
			return nil, fmt.Errorf("%w: pocketsphinx was killed at its deadline: %w", ErrTimeout, context.DeadlineExceeded)
		case errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("%w: pocketsphinx: %w", ErrUnavailable, err)
		case stdout.Over:
			return nil, fmt.Errorf("%w: pocketsphinx output over %d bytes", ErrUpstream, p.cfg.MaxOutputBytes)
		}
		msg := strings.ReplaceAll(stderr.String(), dir+string(filepath.Separator), "")
		return nil, fmt.Errorf("%w: pocketsphinx: %w: %s", ErrUpstream, err, proc.LastLine(msg))
	}
	segs, err := parseSphinx(stdout.Bytes())
	if err != nil {
		return nil, err
	}
	return &Transcript{Segments: segs, Text: joinText(segs), Engine: p.Name(), Language: p.cfg.Language}, nil
}

func writeFile(path string, audio pcm) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	err = writeWAV(bw, audio, 0, audio.n)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// parseSphinx reads the standard output of pocketsphinx_continuous -time
// yes: per utterance, a line with the hypothesis, then one line per word
// "word start end posterior" (seconds), the utterance framed by <s> and
// </s>. Fillers (<s>, </s>, <sil>, [NOISE], ++...++) are dropped and
// alternate pronunciations ("the(2)") are folded. The hypothesis lines
// are ignored: the words carry the same text with timings.
func parseSphinx(out []byte) ([]Segment, error) {
	var (
		segs  []Segment
		cur   Segment
		words []string
	)
	flush := func() {
		if len(words) > 0 {
			cur.Text = strings.Join(words, " ")
			segs = append(segs, cur)
		}
		cur, words = Segment{}, nil
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			continue // a hypothesis line
		}
		start, err1 := strconv.ParseFloat(f[1], 64)
		end, err2 := strconv.ParseFloat(f[2], 64)
		_, err3 := strconv.ParseFloat(f[3], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue // a four-word hypothesis
		}
		w := f[0]
		switch {
		case w == "<s>":
			flush()
			continue
		case w == "</s>":
			flush()
			continue
		case isFiller(w):
			continue
		}
		if i := strings.IndexByte(w, '('); i > 0 && strings.HasSuffix(w, ")") {
			w = w[:i]
		}
		if len(words) == 0 {
			cur.Start = seconds(start)
		}
		cur.End = seconds(end)
		words = append(words, w)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: reading pocketsphinx output: %w", ErrUpstream, err)
	}
	flush()
	return segs, nil
}

func isFiller(w string) bool {
	return strings.HasPrefix(w, "<") || strings.HasPrefix(w, "[") || strings.HasPrefix(w, "++")
}

func seconds(f float64) time.Duration {
	if f < 0 || math.IsNaN(f) {
		return 0
	}
	return time.Duration(math.Round(f*1000)) * time.Millisecond
}
