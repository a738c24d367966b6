package wordf1

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Entry is one row of a corpus MANIFEST.tsv.
type Entry struct {
	ID     string
	File   string // path relative to the corpus directory
	Format string
	Pages  int // 0 when unknown
	Tags   []string
}

// ReadManifest reads dir/MANIFEST.tsv: a tab-separated header row naming
// at least the id and file columns (format, pages and tags are optional),
// then one row per document. Blank lines are skipped.
func ReadManifest(dir string) ([]Entry, error) {
	path := filepath.Join(dir, "MANIFEST.tsv")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var header map[string]int
	var out []Entry
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		cols := strings.Split(text, "\t")
		if header == nil {
			header = map[string]int{}
			for i, h := range cols {
				header[strings.TrimSpace(h)] = i
			}
			if _, ok := header["id"]; !ok {
				return nil, fmt.Errorf("%s: header has no id column", path)
			}
			if _, ok := header["file"]; !ok {
				return nil, fmt.Errorf("%s: header has no file column", path)
			}
			continue
		}
		get := func(name string) string {
			if i, ok := header[name]; ok && i < len(cols) {
				return strings.TrimSpace(cols[i])
			}
			return ""
		}
		e := Entry{ID: get("id"), File: get("file"), Format: get("format")}
		if e.ID == "" || e.File == "" {
			return nil, fmt.Errorf("%s:%d: empty id or file", path, line)
		}
		if e.Format == "" {
			e.Format = strings.TrimPrefix(strings.ToLower(filepath.Ext(e.File)), ".")
		}
		if p := get("pages"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%s:%d: pages: want a whole number, got %q", path, line, p)
			}
			e.Pages = n
		}
		if t := get("tags"); t != "" {
			e.Tags = strings.Split(t, ",")
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if header == nil {
		return nil, fmt.Errorf("%s: empty manifest", path)
	}
	return out, nil
}
