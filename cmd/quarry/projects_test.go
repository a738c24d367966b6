package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeProjects: through the binary, an editor creates a project,
// uploads two documents into it (one anonymously, as the open server
// allows) and extracts the project in one batch, in which the malformed
// one fails alone.
func TestServeProjects(t *testing.T) {
	dataDir := t.TempDir()
	srv := startServe(t, env(map[string]string{"QUARRY_ADDR": "127.0.0.1:0", "QUARRY_DATA_DIR": dataDir}))

	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"user", "create", "--email", "editor@example.org", "--role", "editor", "--password-stdin"},
		strings.NewReader("an editor's long password\n"), &out, &errOut, env(map[string]string{"QUARRY_DATA_DIR": dataDir})); code != 0 {
		t.Fatal(errOut.String())
	}
	var login struct {
		Data struct {
			AccessToken string `json:"access_token"`
		} `json:"data"`
	}
	call(t, http.MethodPost, srv.base+"/api/v1/auth/login", "", "application/json",
		strings.NewReader(`{"email":"editor@example.org","password":"an editor's long password"}`), http.StatusOK, &login)
	token := login.Data.AccessToken

	// Projects need a token even on an open server.
	call(t, http.MethodPost, srv.base+"/api/v1/projects", "", "application/json", strings.NewReader(`{"name":"x"}`), http.StatusUnauthorized, nil)
	var project struct {
		Data struct {
			ID          string `json:"id"`
			SourceCount int    `json:"source_count"`
		} `json:"data"`
	}
	call(t, http.MethodPost, srv.base+"/api/v1/projects", token, "application/json",
		strings.NewReader(`{"name":"Binary batch","description":"made by the end-to-end test"}`), http.StatusCreated, &project)
	pid := project.Data.ID

	upload := func(token, name, content string) string {
		t.Helper()
		body, ctype := multipartFile(name, []byte(content), "project_id", pid)
		var src struct {
			Data struct {
				ID         string   `json:"id"`
				ProjectIDs []string `json:"project_ids"`
			} `json:"data"`
		}
		call(t, http.MethodPost, srv.base+"/api/v1/upload", token, ctype, bytes.NewReader(body), http.StatusCreated, &src)
		if len(src.Data.ProjectIDs) != 1 || src.Data.ProjectIDs[0] != pid {
			t.Fatalf("upload %s: project_ids %v", name, src.Data.ProjectIDs)
		}
		return src.Data.ID
	}
	good := upload(token, "hello.html", "<html><head><title>Hello</title></head><body><p>Hello from a project.</p></body></html>")
	bad := upload("", "broken.pdf", "%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")

	call(t, http.MethodGet, srv.base+"/api/v1/projects/"+pid, token, "", nil, http.StatusOK, &project)
	if project.Data.SourceCount != 2 {
		t.Fatalf("source_count %d", project.Data.SourceCount)
	}
	var list struct {
		Data struct {
			Items []struct {
				ID string `json:"id"`
			} `json:"items"`
		} `json:"data"`
	}
	call(t, http.MethodGet, srv.base+"/api/v1/sources?project_id="+pid, "", "", nil, http.StatusOK, &list)
	if len(list.Data.Items) != 2 {
		t.Fatalf("sources of the project: %+v", list.Data.Items)
	}

	var batch struct {
		Data struct {
			Results []struct {
				SourceID   string `json:"source_id"`
				Extraction *struct {
					Text string `json:"text"`
				} `json:"extraction"`
				Error *struct {
					Code string `json:"code"`
				} `json:"error"`
			} `json:"results"`
			Succeeded, Failed int
		} `json:"data"`
	}
	call(t, http.MethodPost, srv.base+"/api/v1/projects/"+pid+"/extract", token, "application/json", strings.NewReader(`{"mode":"text"}`), http.StatusOK, &batch)
	res := batch.Data.Results
	if len(res) != 2 || res[0].SourceID != good || res[1].SourceID != bad || batch.Data.Succeeded != 1 || batch.Data.Failed != 1 {
		t.Fatalf("batch %+v", batch.Data)
	}
	if res[0].Extraction == nil || !strings.Contains(res[0].Extraction.Text, "Hello from a project.") || res[0].Error != nil {
		t.Errorf("the HTML result %+v", res[0])
	}
	if res[1].Extraction != nil || res[1].Error == nil || res[1].Error.Code != "malformed_document" {
		t.Errorf("the PDF result %+v", res[1])
	}

	if code := srv.stop(); code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, srv.logs.String())
	}
}

// call sends one request (with a bearer token when token is not empty),
// checks its status and decodes its body into out (when not nil).
func call(t *testing.T, method, url, token, contentType string, body io.Reader, status int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
}
