package assist

// Generative reports whether the Service's provider writes its answers with
// a language model, rather than quoting the source as the built-in
// [Extractive] provider does. A caller that must not fall back silently to
// an extractive answer, such as POST /extract with summarizer llm, checks it
// before calling Do. Any provider but Extractive counts as generative.
func (s *Service) Generative() bool {
	switch s.cfg.Provider.(type) {
	case Extractive, *Extractive:
		return false
	}
	return true
}
