// Package runes holds the code-point helpers that Quarry's parsers and
// the Extractor share: offsets and caps in Quarry are in Unicode code
// points, never bytes.
package runes

// Cut returns the first n code points of s (s itself when it is shorter,
// "" when n <= 0), never splitting a UTF-8 sequence.
func Cut(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
