package transcript

import "testing"

func TestISOLanguage(t *testing.T) {
	t.Parallel()
	tests := []struct{ tag, want string }{
		{"eng", "en"},
		{"fre", "fr"}, // ISO 639-2/B
		{"fra", "fr"}, // ISO 639-2/T
		{"ger", "de"},
		{"en-us", "en"},
		{"en-US", "en"},
		{"pt_BR", "pt"},
		{" spa ", "es"},
		{"und", ""},
		{"UND", ""},
		{"", ""},
		{"english", ""}, // whisper's answer: the Extractor detects instead
		{"x-klingon", ""},
		{"zz", ""},
	}
	for _, tt := range tests {
		if got := isoLanguage(tt.tag); got != tt.want {
			t.Errorf("isoLanguage(%q) = %q, want %q", tt.tag, got, tt.want)
		}
	}
}
