package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
)

// TestServeIdempotencyKey: through the binary, a retried upload with the
// same Idempotency-Key is answered with the first source.
func TestServeIdempotencyKey(t *testing.T) {
	srv := startServe(t, env(map[string]string{"QUARRY_ADDR": "127.0.0.1:0", "QUARRY_DATA_DIR": t.TempDir()}))
	body, ctype := multipartFile("retry.txt", []byte("sent twice, stored once"))
	ids := make([]string, 2)
	for i := range ids {
		req, _ := http.NewRequest(http.MethodPost, srv.base+"/api/v1/upload", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Idempotency-Key", "binary-retry-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var up struct {
			Data struct{ ID string } `json:"data"`
		}
		json.NewDecoder(resp.Body).Decode(&up)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || up.Data.ID == "" {
			t.Fatalf("upload %d: status %d", i, resp.StatusCode)
		}
		if replayed := resp.Header.Get("Idempotent-Replayed") == "true"; replayed != (i == 1) {
			t.Errorf("upload %d: Idempotent-Replayed %q", i, resp.Header.Get("Idempotent-Replayed"))
		}
		ids[i] = up.Data.ID
	}
	if ids[0] != ids[1] {
		t.Errorf("the retry made source %s besides %s", ids[1], ids[0])
	}
}
