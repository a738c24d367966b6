package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/quarryhq/quarry/auth"
)

// userCmd manages accounts: create, list, disable. Passwords come from
// standard input only, never from the command line (where other users of
// the machine and shell histories can read them).
func userCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	const usage = "usage: quarry user create --email E --role admin|editor|viewer [--tenant T] --password-stdin\n" +
		"       quarry user list [--tenant T]\n" +
		"       quarry user disable --email E [--tenant T]"
	if len(args) == 0 {
		return usageError{usage}
	}
	sub := args[0]
	fs := flag.NewFlagSet("quarry user "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	email := fs.String("email", "", "the user's email")
	role := fs.String("role", "", "admin, editor or viewer")
	tenant := fs.String("tenant", auth.DefaultTenantID, "tenant id (created when new)")
	passwordStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	fs.Func("password", "refused: use --password-stdin", func(string) error {
		return errors.New("passwords are never taken from the command line: use --password-stdin")
	})
	cfg, rest, err := loadConfig(fs, args[1:], getenv)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError{usage}
	}
	cfg.Isolation = "off" // account commands extract nothing: no parser workers
	a, err := openApp(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer a.Close(cfg.ShutdownTimeout)
	switch sub {
	case "create":
		if *email == "" || *role == "" || !*passwordStdin {
			return usageError{usage}
		}
		r, err := auth.ParseRole(*role)
		if err != nil {
			return err
		}
		password, err := readPassword(stdin)
		if err != nil {
			return err
		}
		if _, err := a.auth.EnsureTenant(ctx, *tenant, *tenant); err != nil {
			return err
		}
		u, err := a.auth.CreateUser(ctx, *tenant, *email, password, r)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s %s (%s) in tenant %s\n", u.ID, u.Email, u.Role, u.TenantID)
	case "list":
		t := *tenant
		if !flagGiven(fs, "tenant") {
			t = "" // every tenant
		}
		users, err := a.auth.ListUsers(ctx, t)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTENANT\tEMAIL\tROLE\tSTATE\tCREATED")
		for _, u := range users {
			state := "active"
			if u.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.TenantID, u.Email, u.Role, state, u.CreatedAt.UTC().Format(time.RFC3339))
		}
		tw.Flush()
	case "disable":
		if *email == "" {
			return usageError{usage}
		}
		users, err := a.auth.ListUsers(ctx, *tenant)
		if err != nil {
			return err
		}
		want := strings.ToLower(strings.TrimSpace(*email))
		for _, u := range users {
			if u.Email == want {
				if err := a.auth.DisableUser(ctx, u.TenantID, u.ID); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "disabled %s %s; its sessions are revoked\n", u.ID, u.Email)
				return nil
			}
		}
		return fmt.Errorf("no user %s in tenant %s", *email, *tenant)
	default:
		return usageError{usage}
	}
	return nil
}

func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// readPassword reads the first line of r.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("--password-stdin: standard input is empty")
	}
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("--password-stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("--password-stdin: standard input is empty")
	}
	return line, nil
}
