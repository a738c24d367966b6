package server_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quarryhq/quarry/server"
)

// TestIdempotentUpload: a retried upload with the same Idempotency-Key
// and file gets the first response (Idempotent-Replayed: true) and stores
// nothing more; the key with another file is 409; without a key every
// upload is new; a malformed key is 400.
func TestIdempotentUpload(t *testing.T) {
	s := newStack(t, stackOptions{})
	up := func(name, content, key string) response {
		t.Helper()
		body, ctype := multipartBody(t, name, []byte(content))
		h := []string{"Content-Type", ctype}
		if key != "" {
			h = append(h, "Idempotency-Key", key)
		}
		return s.do(t, http.MethodPost, "/api/v1/upload", bytes.NewReader(body), h...)
	}
	var first, again server.Source
	r := up("a.txt", "the same file", "key-1")
	requireOK(t, r, http.StatusCreated, &first)
	if r.header.Get("Idempotent-Replayed") != "" {
		t.Error("a first response says it is replayed")
	}
	r2 := up("a.txt", "the same file", "key-1")
	requireOK(t, r2, http.StatusCreated, &again)
	if again.ID != first.ID || r2.header.Get("Location") != "/api/v1/source/"+first.ID || r2.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay = %+v (Location %q, replayed %q), want the first source %s", again, r2.header.Get("Location"), r2.header.Get("Idempotent-Replayed"), first.ID)
	}
	if r2.env.RequestID == r.env.RequestID {
		t.Error("the replay kept the first request id")
	}
	if ids := listIDs(t, s, "", nil); len(ids) != 1 {
		t.Errorf("sources after a replay: %v, want one", ids)
	}

	for _, c := range []struct{ name, content string }{{"a.txt", "another file"}, {"b.txt", "the same file"}} {
		requireError(t, up(c.name, c.content, "key-1"), http.StatusConflict, server.CodeConflict)
	}
	requireError(t, up("a.txt", "x", strings.Repeat("k", 256)), http.StatusBadRequest, server.CodeInvalidRequest)
	requireError(t, up("a.txt", "x", "clé-1"), http.StatusBadRequest, server.CodeInvalidRequest)

	// Without a key, the same upload makes a new source.
	var plain server.Source
	requireOK(t, up("a.txt", "the same file", ""), http.StatusCreated, &plain)
	if plain.ID == first.ID {
		t.Error("an upload without a key replayed")
	}
	// A failed request keeps no key: an empty file, then the real one.
	requireError(t, up("c.txt", "", "key-2"), http.StatusUnprocessableEntity, server.CodeValidationError)
	requireOK(t, up("c.txt", "now with content", "key-2"), http.StatusCreated, &plain)
	if ids := listIDs(t, s, "", nil); len(ids) != 3 {
		t.Errorf("sources: %v, want 3", ids)
	}
}

// TestIdempotentUploadConcurrent: retries racing the first request store
// one source; the others are replays or 409 in progress, never a second
// source.
func TestIdempotentUploadConcurrent(t *testing.T) {
	s := newStack(t, stackOptions{})
	body, ctype := multipartBody(t, "race.txt", []byte("raced content"))
	var wg sync.WaitGroup
	var created, conflicts atomic.Int32
	ids := sync.Map{}
	for range 8 {
		wg.Go(func() {
			r := s.do(t, http.MethodPost, "/api/v1/upload", bytes.NewReader(body), "Content-Type", ctype, "Idempotency-Key", "race")
			switch r.status {
			case http.StatusCreated:
				created.Add(1)
				var src server.Source
				requireOK(t, r, http.StatusCreated, &src)
				ids.Store(src.ID, true)
			case http.StatusConflict:
				conflicts.Add(1)
			default:
				t.Errorf("status %d: %s", r.status, r.body)
			}
		})
	}
	wg.Wait()
	n := 0
	ids.Range(func(any, any) bool { n++; return true })
	if n != 1 || created.Load() == 0 {
		t.Errorf("%d distinct sources in %d created answers (%d conflicts), want one", n, created.Load(), conflicts.Load())
	}
	if got := listIDs(t, s, "", nil); len(got) != 1 {
		t.Errorf("stored sources %v, want one", got)
	}
}

// TestIdempotentDownload: the URL is fetched once for a key; a retry
// replays; the key with another URL is 409; a failed download releases
// the key.
func TestIdempotentDownload(t *testing.T) {
	var hits atomic.Int32
	var fail atomic.Bool
	fix, port := fixture(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if fail.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte("downloaded once " + r.URL.Path))
	}))
	fc := allow127002(port)
	fc.TotalTimeout = 5 * time.Second
	s := newStack(t, stackOptions{fetch: fc})
	get := func(url, key string) response {
		t.Helper()
		b := []byte(`{"url":"` + url + `"}`)
		return s.do(t, http.MethodPost, "/api/v1/download-from-url", bytes.NewReader(b), "Content-Type", "application/json", "Idempotency-Key", key)
	}
	var a, b server.Source
	requireOK(t, get(fix.URL+"/one", "dl-1"), http.StatusCreated, &a)
	r := get(fix.URL+"/one", "dl-1")
	requireOK(t, r, http.StatusCreated, &b)
	if a.ID != b.ID || hits.Load() != 1 || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %s vs %s after %d fetches", a.ID, b.ID, hits.Load())
	}
	requireError(t, get(fix.URL+"/two", "dl-1"), http.StatusConflict, server.CodeConflict)

	fail.Store(true)
	requireError(t, get(fix.URL+"/three", "dl-2"), http.StatusBadGateway, server.CodeFetchFailed)
	fail.Store(false)
	requireOK(t, get(fix.URL+"/three", "dl-2"), http.StatusCreated, &b)
	if hits.Load() != 3 {
		t.Errorf("%d fetches, want 3 (the failed one released its key)", hits.Load())
	}
}
