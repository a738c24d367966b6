package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestUserCommands(t *testing.T) {
	e := env(map[string]string{"QUARRY_DATA_DIR": t.TempDir()})
	ctx := context.Background()
	var out, errOut bytes.Buffer
	create := func(email, role, tenant, password string) int {
		out.Reset()
		errOut.Reset()
		args := []string{"user", "create", "--email", email, "--role", role, "--password-stdin"}
		if tenant != "" {
			args = append(args, "--tenant", tenant)
		}
		return run(ctx, args, strings.NewReader(password+"\n"), &out, &errOut, e)
	}
	if code := create("Admin@Example.org", "admin", "", "a long enough password"); code != 0 || !strings.Contains(out.String(), "admin@example.org (admin) in tenant default") {
		t.Fatalf("create: %d %q %q", code, out.String(), errOut.String())
	}
	if code := create("admin@example.org", "editor", "", "a long enough password"); code != 1 {
		t.Fatalf("duplicate email in a tenant: exit %d", code)
	}
	if code := create("ed@acme.test", "editor", "acme", "another long password"); code != 0 {
		t.Fatalf("create in a new tenant: %d %s", code, errOut.String())
	}
	if code := create("short@example.org", "viewer", "", "short"); code != 1 || !strings.Contains(errOut.String(), "password") {
		t.Fatalf("short password: %d %q", code, errOut.String())
	}
	if code := create("x@example.org", "owner", "", "a long enough password"); code != 1 {
		t.Fatalf("bad role: exit %d", code)
	}
	// Never from the command line.
	out.Reset()
	errOut.Reset()
	if code := run(ctx, []string{"user", "create", "--email", "p@example.org", "--role", "viewer", "--password", "hunter2hunter2"}, nil, &out, &errOut, e); code == 0 {
		t.Fatal("a password on the command line was accepted")
	}
	if !strings.Contains(errOut.String(), "--password-stdin") {
		t.Fatalf("stderr = %q", errOut.String())
	}

	out.Reset()
	if code := run(ctx, []string{"user", "list"}, nil, &out, &errOut, e); code != 0 {
		t.Fatal(errOut.String())
	}
	for _, want := range []string{"admin@example.org", "ed@acme.test", "acme", "active"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(ctx, []string{"user", "disable", "--email", "ed@acme.test", "--tenant", "acme"}, nil, &out, &errOut, e); code != 0 {
		t.Fatal(errOut.String())
	}
	out.Reset()
	run(ctx, []string{"user", "list", "--tenant", "acme"}, nil, &out, &errOut, e)
	if !strings.Contains(out.String(), "disabled") || strings.Contains(out.String(), "admin@example.org") {
		t.Fatalf("list --tenant acme:\n%s", out.String())
	}
}

// TestServeWithAuthRequired: the bootstrap hint, then the whole login flow
// through the binary.
func TestServeWithAuthRequired(t *testing.T) {
	dataDir := t.TempDir()
	e := env(map[string]string{"QUARRY_ADDR": "127.0.0.1:0", "QUARRY_DATA_DIR": dataDir, "QUARRY_AUTH_REQUIRED": "true"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, nil, io.Discard, logs, e) }()
	addrRe := regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && base == ""; time.Sleep(20 * time.Millisecond) {
		if m := addrRe.FindStringSubmatch(logs.String()); m != nil {
			base = "http://" + m[1]
		}
	}
	if base == "" {
		t.Fatalf("no start:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "quarry user create --email admin@example.org --role admin --password-stdin") {
		t.Fatalf("no bootstrap hint:\n%s", logs.String())
	}
	resp, err := http.Get(base + "/api/v1/sources")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous list with auth required: %d", resp.StatusCode)
	}

	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"user", "create", "--email", "root@example.org", "--role", "admin", "--password-stdin"},
		strings.NewReader("the first admin password\n"), &out, &errOut, env(map[string]string{"QUARRY_DATA_DIR": dataDir})); code != 0 {
		t.Fatal(errOut.String())
	}
	resp, err = http.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(`{"email":"root@example.org","password":"the first admin password"}`))
	if err != nil {
		t.Fatal(err)
	}
	var pair struct {
		Data struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&pair)
	resp.Body.Close()
	if resp.StatusCode != 200 || pair.Data.AccessToken == "" {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+pair.Data.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		Data struct {
			Role string `json:"role"`
		} `json:"data"`
	}
	json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if resp.StatusCode != 200 || me.Data.Role != "admin" {
		t.Fatalf("me: %d %+v", resp.StatusCode, me)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d", code)
	}
}
