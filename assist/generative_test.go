package assist_test

import (
	"testing"

	"github.com/quarryhq/quarry/assist"
)

func TestGenerative(t *testing.T) {
	llm, err := assist.NewOpenAI(assist.OpenAIConfig{BaseURL: "http://127.0.0.1:1/v1", Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		p    assist.Provider
		want bool
	}{
		{"extractive", assist.Extractive{}, false},
		{"extractive pointer", &assist.Extractive{MaxSentences: 3}, false},
		{"openai", llm, true},
	} {
		svc, err := assist.New(assist.Config{Provider: c.p})
		if err != nil {
			t.Fatal(err)
		}
		if got := svc.Generative(); got != c.want {
			t.Errorf("%s: Generative() = %v, want %v", c.name, got, c.want)
		}
	}
}
