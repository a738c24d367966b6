package server

import (
	"fmt"
	"slices"
	"strings"
)

// v1Description is the OpenAPI description of /api/v1: the envelope and the
// closed list of error codes.
var v1Description = `Quarry turns documents (PDF, DOCX, HTML, Markdown, text) into clean, citable text and summaries.

Every JSON response is one envelope: ` + "`{success, data, error, request_id}`" + `. On failure ` + "`error`" + ` holds
` + "`{code, message, details?}`" + `, where ` + "`code`" + ` is one of the closed list below and always comes with the same
HTTP status. ` + "`request_id`" + ` equals the ` + "`X-Request-Id`" + ` response header; a printable incoming ` + "`X-Request-Id`" + ` of at
most 128 characters is kept. Server errors never carry internal details. ` + "`/metrics`" + ` (Prometheus text) and
` + "`/docs`" + ` (HTML) are the only responses that are not envelopes.

Error codes:

` + codeTable() + `
Rate limits: every request to /api/v1 and /api/v2, except the health checks and the OpenAPI documents, counts
against its client address (` + "`QUARRY_RATE_LIMIT`" + `, 300 per minute by default; IPv6 addresses per /64). Limited
responses carry ` + "`X-RateLimit-Limit`" + `, ` + "`X-RateLimit-Remaining`" + ` and ` + "`X-RateLimit-Reset`" + ` (Unix seconds); past the
limit the answer is ` + "`429 rate_limited`" + ` with ` + "`Retry-After`" + `. Login attempts have limits of their own, per address and
per account. The client address is the connection's peer unless the server trusts a reverse proxy
(` + "`QUARRY_TRUSTED_PROXIES`" + `), whose ` + "`X-Forwarded-For`" + ` it then reads right to left.`

var v2Description = "The /api/v2 namespace: reserved for breaking changes. It serves only its health check today."

func codeTable() string {
	codes := make([]string, 0, len(codeStatus))
	for c := range codeStatus {
		codes = append(codes, c)
	}
	slices.SortFunc(codes, func(a, b string) int {
		if d := codeStatus[a] - codeStatus[b]; d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	var b strings.Builder
	b.WriteString("| code | status |\n|---|---|\n")
	for _, c := range codes {
		fmt.Fprintf(&b, "| `%s` | %d |\n", c, codeStatus[c])
	}
	return b.String()
}
