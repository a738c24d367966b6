package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("quarry migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, "usage: quarry migrate up|status [flags]"); fs.PrintDefaults() }
	if len(args) == 0 {
		fs.Usage()
		return usageError{"migrate needs up or status"}
	}
	sub := args[0]
	cfg, rest, err := loadConfig(fs, args[1:], getenv)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{"migrate takes no arguments after " + sub}
	}
	log := newLogger(cfg, stderr)
	db, err := openDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer db.Close()
	switch sub {
	case "up":
		if err := db.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		fmt.Fprintln(stdout, "database is up to date")
		fallthrough
	case "status":
		list, err := db.MigrationStatus(ctx)
		if err != nil {
			return fmt.Errorf("migrate status: %w", err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
		pending := 0
		for _, m := range list {
			applied := "pending"
			if m.AppliedAt != nil {
				applied = m.AppliedAt.UTC().Format(time.RFC3339)
			} else {
				pending++
			}
			name := m.Name
			if !m.Known {
				name += " (unknown to this binary: the database is newer)"
			}
			fmt.Fprintf(tw, "%04d\t%s\t%s\n", m.Version, name, applied)
		}
		tw.Flush()
		if sub == "status" && pending > 0 {
			fmt.Fprintf(stdout, "%d migration(s) pending: run quarry migrate up\n", pending)
		}
		return nil
	default:
		return usageError{"migrate: unknown subcommand " + sub + " (want up or status)"}
	}
}
