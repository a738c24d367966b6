package assist

import (
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed prompts/prompts.tmpl
var promptFS embed.FS

var prompts = template.Must(template.ParseFS(promptFS, "prompts/prompts.tmpl"))

// Prompt renders the system and user messages for req from the package's
// templates (prompts/prompts.tmpl, see the package documentation). Providers
// that talk to a language model use it; the extractive provider does not.
func Prompt(req Request) (system, user string, err error) {
	if !req.Task.Valid() {
		return "", "", &ValidationError{Field: "task", Reason: fmt.Sprintf("unknown task %q", req.Task)}
	}
	var b strings.Builder
	if err := prompts.ExecuteTemplate(&b, "system", req); err != nil {
		return "", "", fmt.Errorf("assist: render system prompt: %w", err)
	}
	system = b.String()
	b.Reset()
	if err := prompts.ExecuteTemplate(&b, string(req.Task), req); err != nil {
		return "", "", fmt.Errorf("assist: render %s prompt: %w", req.Task, err)
	}
	return system, b.String(), nil
}
