// Command quarry is Quarry's reference binary: the HTTP server, offline
// extraction and schema management.
//
//	quarry serve                       run the server (migrating the database first)
//	quarry extract [--mode text|summary] [--json] FILE...
//	quarry eval --corpus DIR [--format pdf,docx] [--json]
//	quarry migrate up|status
//	quarry user create|list|disable
//	quarry version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/quarryhq/quarry/extract/isolate"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3";
// otherwise it comes from the module's build information.
var version = ""

func main() {
	// A parser worker started by the server's pool (QUARRY_ISOLATION)
	// serves documents here and never returns.
	isolate.RunWorkerIfChild(workerExtractor)
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

const usage = `Quarry turns documents into clean, citable text.

Usage:
  quarry serve [flags]                                 run the HTTP server
  quarry extract [--mode text|summary] [--json] FILE... extract files offline
  quarry eval --corpus DIR [--format pdf,docx] [--json] measure word F1 and pages/s on a corpus
  quarry migrate up|status [flags]                     manage the database schema
  quarry user create --email E --role R [--tenant T] --password-stdin
  quarry user list [--tenant T] | quarry user disable --email E [--tenant T]
  quarry version                                       print the version

Run "quarry serve -h" for the settings; each is also an environment variable
(QUARRY_ADDR, QUARRY_DATA_DIR, ...) and a key of the --config YAML file.
`

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		err = serve(ctx, rest, stdout, stderr, getenv)
	case "extract":
		return extractCmd(ctx, rest, stdin, stdout, stderr, getenv)
	case "eval":
		return evalCmd(ctx, rest, stdout, stderr, getenv)
	case "migrate":
		err = migrateCmd(ctx, rest, stdout, stderr, getenv)
	case "user":
		err = userCmd(ctx, rest, stdin, stdout, stderr, getenv)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "quarry", buildVersion())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "quarry: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "quarry:", err)
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// newLogger builds the process logger from the configuration.
func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToLower(cfg.LogLevel)))
	opts := &slog.HandlerOptions{Level: level}
	if strings.ToLower(cfg.LogFormat) == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
