package media

import (
	"fmt"
	"html"
	"strings"
	"time"
)

// Cue is one timed text of a subtitle track.
type Cue struct {
	Start, End time.Duration
	// Text is the cue's text without markup (tags such as <i>, ASS
	// overrides such as {\an8}, entities decoded), lines joined by "\n".
	Text string
}

// ParseSRT parses a SubRip (.srt) file. It is lenient: a UTF-8 BOM, CRLF
// or CR line ends, missing blank lines between cues, missing or wrong
// cue numbers, '.' instead of ',' in timestamps are all accepted; cues
// with an unreadable timing line or an end before their start are
// skipped. Input with text but no cue at all fails with [ErrMalformed].
func ParseSRT(b []byte) ([]Cue, error) { return parseCues(b) }

// ParseVTT parses a WebVTT file as leniently as [ParseSRT]: the WEBVTT
// header is not required, NOTE, STYLE and REGION blocks are skipped, cue
// settings after the end time are ignored and hours may be omitted.
func ParseVTT(b []byte) ([]Cue, error) { return parseCues(b) }

// JoinText joins the texts of the cues with newlines: a transcript.
func JoinText(cues []Cue) string {
	texts := make([]string, len(cues))
	for i, c := range cues {
		texts[i] = c.Text
	}
	return strings.Join(texts, "\n")
}

func parseCues(b []byte) ([]Cue, error) {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	s = strings.TrimPrefix(s, "\uFEFF")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	var cues []Cue
	timings := 0
	content := false
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" {
			continue
		}
		start, end, ok := parseTiming(line)
		if !ok {
			if i == 0 && strings.HasPrefix(line, "WEBVTT") {
				continue
			}
			if isVTTBlock(line) {
				// A NOTE, STYLE or REGION block runs to the next blank
				// line and is no cue content.
				for i+1 < len(lines) && strings.TrimSpace(lines[i+1]) != "" {
					i++
				}
				continue
			}
			content = true // a cue number, junk: skipped
			continue
		}
		timings++
		var text []string
		j := i + 1
		for ; j < len(lines); j++ {
			l := strings.TrimSpace(lines[j])
			if l == "" || strings.Contains(l, "-->") {
				break
			}
			// A cue number right before a timing line starts the next
			// cue (the blank line between them is missing).
			if j+1 < len(lines) && isDigits(l) && strings.Contains(lines[j+1], "-->") {
				break
			}
			if t := cleanText(l); t != "" {
				text = append(text, t)
			}
		}
		i = j - 1
		if end < start || len(text) == 0 {
			continue
		}
		cues = append(cues, Cue{Start: start, End: end, Text: strings.Join(text, "\n")})
	}
	if timings == 0 && content {
		return nil, fmt.Errorf("%w: no subtitle cue found", ErrMalformed)
	}
	return cues, nil
}

// isVTTBlock reports whether line starts a WebVTT NOTE, STYLE or REGION
// block.
func isVTTBlock(line string) bool {
	return line == "NOTE" || strings.HasPrefix(line, "NOTE ") || strings.HasPrefix(line, "NOTE\t") ||
		line == "STYLE" || line == "REGION"
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// parseTiming parses "00:00:01,000 --> 00:00:02,500 [settings]".
func parseTiming(line string) (start, end time.Duration, ok bool) {
	left, right, found := strings.Cut(line, "-->")
	if !found {
		return 0, 0, false
	}
	fields := strings.Fields(right)
	if len(fields) == 0 {
		return 0, 0, false
	}
	start, ok1 := parseTimestamp(strings.TrimSpace(left))
	end, ok2 := parseTimestamp(fields[0])
	return start, end, ok1 && ok2
}

// parseTimestamp parses [hh:]mm:ss[,.]fff (1 to 3 fraction digits).
func parseTimestamp(s string) (time.Duration, bool) {
	main, frac, hasFrac := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	parts := strings.Split(main, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	var d time.Duration
	for k, p := range parts {
		if !isDigits(p) || len(p) > 6 {
			return 0, false
		}
		n := 0
		for _, c := range p {
			n = n*10 + int(c-'0')
		}
		last := len(parts) - 1 - k // 0 = seconds, 1 = minutes, 2 = hours
		if last < 2 && (n > 59 || len(p) > 2) && k > 0 {
			return 0, false
		}
		switch last {
		case 2:
			d += time.Duration(n) * time.Hour
		case 1:
			d += time.Duration(n) * time.Minute
		default:
			d += time.Duration(n) * time.Second
		}
	}
	if hasFrac {
		if !isDigits(frac) || len(frac) > 3 {
			return 0, false
		}
		ms := 0
		for _, c := range frac {
			ms = ms*10 + int(c-'0')
		}
		for range 3 - len(frac) {
			ms *= 10
		}
		d += time.Duration(ms) * time.Millisecond
	}
	return d, true
}

// cleanText removes markup from one line of cue text.
func cleanText(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		switch {
		case s[0] == '<':
			if k := strings.IndexByte(s, '>'); k > 0 {
				s = s[k+1:]
				continue
			}
		case strings.HasPrefix(s, "{\\"):
			if k := strings.IndexByte(s, '}'); k > 0 {
				s = s[k+1:]
				continue
			}
		}
		b.WriteByte(s[0])
		s = s[1:]
	}
	return strings.TrimSpace(html.UnescapeString(b.String()))
}
