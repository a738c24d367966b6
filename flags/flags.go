package flags

import (
	"errors"
	"slices"
	"strings"
	"time"
)

// The known flags.
const (
	// BatchAsync makes batch extraction answer 202 with a queued job
	// instead of running it in the request. Default off: synchronous
	// batches are the v1 behaviour.
	BatchAsync = "batch.async.enabled"
	// VideoToText enables POST /video-to-text. Default on: without its
	// engine the endpoint answers dependency_unavailable anyway, so the
	// flag is only the operator's off switch.
	VideoToText = "media.video_to_text"
	// AIAssist enables POST /ai-assist. Default on, for the same reason.
	AIAssist = "ai.assist"
)

// Definition describes a known flag.
type Definition struct {
	Key         string `json:"key"`
	Description string `json:"description"`
	// Default is the flag's value when no override is stored.
	Default bool `json:"default"`
}

// definitions is the fixed list, sorted by key.
var definitions = []Definition{
	{Key: AIAssist, Description: "AI assist (POST /ai-assist and /ai-assist/stream, and summarizer llm on POST /extract); it answers dependency_unavailable when no engine is configured", Default: true},
	{Key: BatchAsync, Description: "Batch extraction runs as a queued job answering 202 instead of in the request", Default: false},
	{Key: VideoToText, Description: "Video to text endpoint (POST /video-to-text); it answers dependency_unavailable when no engine is configured", Default: true},
}

// Definitions returns the known flags, sorted by key. The slice is a copy.
func Definitions() []Definition { return slices.Clone(definitions) }

// Lookup returns the definition of key, and false when key is not a known
// flag.
func Lookup(key string) (Definition, bool) {
	i, ok := slices.BinarySearchFunc(definitions, key, func(d Definition, k string) int {
		return strings.Compare(d.Key, k)
	})
	if !ok {
		return Definition{}, false
	}
	return definitions[i], true
}

// Scope is where an override applies.
type Scope string

// Scopes.
const (
	ScopeGlobal Scope = "global" // every tenant without its own override
	ScopeTenant Scope = "tenant" // one tenant; beats the global override
)

// Valid reports whether s is ScopeGlobal or ScopeTenant.
func (s Scope) Valid() bool { return s == ScopeGlobal || s == ScopeTenant }

// Flag is one stored override.
type Flag struct {
	Key   string `json:"key"`
	Scope Scope  `json:"scope"`
	// TenantID is the tenant of a ScopeTenant override, "" for a global one.
	TenantID  string    `json:"tenant_id"`
	Enabled   bool      `json:"enabled"`
	UpdatedAt time.Time `json:"updated_at"`
	// UpdatedBy is the actor that last set the override, as given to Set.
	UpdatedBy string `json:"updated_by"`
}

// Sources of an effective value (State.Source).
const (
	SourceDefault = "default" // no override: the definition's default
	SourceGlobal  = "global"  // the global override
	SourceTenant  = "tenant"  // the tenant's override
)

// State is a flag's effective value for one tenant, and why.
type State struct {
	Key         string `json:"key"`
	Description string `json:"description"`
	// Enabled is the effective value for the tenant.
	Enabled bool `json:"enabled"`
	// Source is SourceDefault, SourceGlobal or SourceTenant: where Enabled
	// comes from.
	Source string `json:"source"`
	// Default is the definition's default.
	Default bool `json:"default"`
	// Global is the global override, nil when none is stored.
	Global *bool `json:"global"`
	// Tenant is the tenant's override, nil when none is stored.
	Tenant *bool `json:"tenant"`
}

// Errors.
var (
	// ErrUnknownFlag: the key is not one of Definitions.
	ErrUnknownFlag = errors.New("flags: unknown flag")
	// ErrNotFound: Clear found no such override.
	ErrNotFound = errors.New("flags: override not found")
)

// ValidationError says which field of a Flag (or argument) is wrong.
// Field uses the JSON names: "scope", "tenant_id", "updated_by".
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	return "flags: invalid " + e.Field + ": " + e.Reason
}
