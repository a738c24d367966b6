package audit

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// secretWords are the words whose presence in a Details key drops the key
// (compared after lower-casing the key and removing everything but letters
// and digits, so "Access-Token", "refresh_token" and "apiKey" all match).
// The list is deliberately broad: a dropped harmless key costs little, a
// stored token or document costs a lot. "text", "content" and "body" keep
// document text out; note that "context" contains "text" and goes too.
var secretWords = []string{
	"token", "password", "passwd", "pwd", "secret", "authorization",
	"cookie", "text", "content", "body", "credential", "apikey",
	"privatekey", "jwt", "bearer",
}

// secretKey reports whether a Details key looks like it names a secret or
// document text.
func secretKey(k string) bool {
	var b strings.Builder
	b.Grow(len(k))
	for _, r := range strings.ToLower(k) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	n := b.String()
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// redacted replaces a Details string value that looks like a credential
// whatever its key.
const redacted = "[redacted]"

// secretValue reports whether s looks like a credential: an Authorization
// header value or a JWT.
func secretValue(s string) bool {
	t := strings.TrimSpace(s)
	if len(t) > 7 && strings.EqualFold(t[:7], "bearer ") || len(t) > 6 && strings.EqualFold(t[:6], "basic ") {
		return true
	}
	// A JWT: three base64url parts, the header a JSON object ("eyJ" is
	// the encoding of `{"`).
	return strings.HasPrefix(t, "eyJ") && strings.Count(t, ".") == 2
}

// cutRunes cuts s to max runes, the last one an ellipsis when it cut.
func cutRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	i, n := 0, 0
	for i = range s {
		if n == max-1 {
			break
		}
		n++
	}
	return s[:i] + "…"
}

// cutBytes cuts s to at most max bytes without splitting a rune, and
// replaces invalid UTF-8.
func cutBytes(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// cleanValue sanitizes one decoded JSON value.
func cleanValue(v any) any {
	switch v := v.(type) {
	case string:
		if secretValue(v) {
			return redacted
		}
		return cutRunes(v, MaxDetailValueLen)
	case map[string]any:
		return cleanMap(v)
	case []any:
		for i := range v {
			v[i] = cleanValue(v[i])
		}
		return v
	default: // json.Number, bool, nil
		return v
	}
}

// cleanMap drops secret-looking and over-long keys and cleans the values.
func cleanMap(m map[string]any) map[string]any {
	for k, v := range m {
		if len(k) > MaxDetailKeyLen || secretKey(k) {
			delete(m, k)
			continue
		}
		m[k] = cleanValue(v)
	}
	return m
}

// sanitizeDetails returns the JSON object to store for d: d encoded as
// JSON and decoded again (so structs, times and the like become plain
// JSON, and struct fields are seen under their JSON names), secret-looking
// keys dropped at every depth, credential-looking strings redacted, long
// strings cut and, when the result is over MaxDetailsBytes, the largest
// top-level keys dropped until it fits with TruncatedKey set. It reports
// whether it had to trim.
func sanitizeDetails(d map[string]any) ([]byte, bool, error) {
	if len(d) == 0 {
		return []byte("{}"), false, nil
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return nil, false, fmt.Errorf("%w: details: %v", ErrInvalidEvent, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, false, fmt.Errorf("%w: details: %v", ErrInvalidEvent, err)
	}
	if m == nil { // a nil map inside a non-nil interface cannot happen, but be safe
		m = map[string]any{}
	}
	m = cleanMap(m)
	out, err := json.Marshal(m)
	if err != nil {
		return nil, false, fmt.Errorf("%w: details: %v", ErrInvalidEvent, err)
	}
	if len(out) <= MaxDetailsBytes {
		return out, false, nil
	}
	if out, err = trimDetails(m); err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// trimDetails drops the largest top-level keys of m (ties: the greater
// key first) until m, with TruncatedKey set to true, encodes within
// MaxDetailsBytes.
func trimDetails(m map[string]any) ([]byte, error) {
	type member struct {
		key  string
		size int // encoded "key":value
	}
	delete(m, TruncatedKey)
	members := make([]member, 0, len(m))
	total := 2 // {}
	for k, v := range m {
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, fmt.Errorf("%w: details: %v", ErrInvalidEvent, err)
		}
		vb, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%w: details: %v", ErrInvalidEvent, err)
		}
		members = append(members, member{k, len(kb) + 1 + len(vb)})
	}
	slices.SortFunc(members, func(a, b member) int {
		return cmp.Or(cmp.Compare(b.size, a.size), strings.Compare(b.key, a.key))
	})
	// total counts one comma per member: with the marker there are
	// len(members) commas, so total+marker is the exact encoded size.
	marker := len(`"` + TruncatedKey + `":true`)
	for _, mb := range members {
		total += mb.size + 1
	}
	for _, mb := range members {
		if total+marker <= MaxDetailsBytes {
			break
		}
		delete(m, mb.key)
		total -= mb.size + 1
	}
	m[TruncatedKey] = true
	out, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: details: %v", ErrInvalidEvent, err)
	}
	if len(out) > MaxDetailsBytes { // cannot happen: the sizes above are exact
		out = []byte(`{"` + TruncatedKey + `":true}`)
	}
	return out, nil
}
