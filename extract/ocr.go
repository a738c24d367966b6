package extract

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"
)

// OCR reads the text of pages that have no usable text layer: scanned PDF
// pages, images, and pages whose text layer is garbled. It is Quarry's
// extension point for OCR engines: package extract/ocr holds one over the
// tesseract command; a cloud OCR service fits the same interface. Set it as
// [Config.OCR].
//
// After the parser returned, the [Extractor] calls Recognize for every
// selected page whose text is empty (or only whitespace) or looks garbled,
// when the document's media type is one of MediaTypes. It calls Recognize
// for several pages at once (see [OCRConcurrency]), so an OCR must be safe
// for concurrent use. What Recognize returns replaces the page's text (for
// a garbled page, only when the OCR text does not look garbled itself);
// the Extractor then normalises it like parser output (invalid UTF-8
// replaced, CR LF turned into LF, the output cap applied).
//
// The OCR phase runs after the parser, within the same deadline of
// Config.Timeout for the whole extraction. Recognize must honour ctx: the
// Extractor cancels it at that deadline (the pages not read by
// then keep a warning saying so, and the extraction returns the rest) and
// when the caller goes away (the extraction fails with the caller's
// error). An engine that ignores ctx is waited for two seconds more, then
// left behind, as a parser that ignores it is.
//
// An error fails the one page, not the extraction: the page keeps its
// text layer, and its warning carries the first line of the error's
// message, which API clients see - so keep file paths, credentials and
// command lines out of it. Wrap the sentinels of this
// package where they fit ([ErrTooLarge] for an image over the engine's
// limits, [ErrEncrypted], [ErrMalformed], [ErrUnsupportedFormat]) and
// return ctx.Err() (wrapped or not) when ctx ended the work.
//
// Recognize must not keep the Input (nor read it) after it returns, as a
// [Parser] must not.
type OCR interface {
	// Name names the engine, and its version where known, such as
	// "tesseract 5.3.0". Warnings cite it.
	Name() string
	// MediaTypes lists the media types (without parameters) whose pages
	// the engine reads, such as "application/pdf" or "image/png".
	MediaTypes() []string
	// Recognize returns the text of one page.
	Recognize(ctx context.Context, req OCRRequest) (string, error)
}

// OCRRequest is one page for an [OCR] to read.
type OCRRequest struct {
	// Input is the whole document, with the media type the Extractor
	// sniffed, the password that opened it and its limits. Its R may be
	// read concurrently by the Recognize calls of other pages (ReadAt is
	// safe for that).
	Input Input
	// Page is the 1-based number of the page: a PDF page, a frame of a
	// multi-page TIFF, 1 for a single image.
	Page int
	// Language is the document's language as its parser reported it (a
	// BCP 47 tag such as "de" or "en-US"), or "" when unknown. It is a
	// hint: an engine without a model for it reads with its configured
	// languages.
	Language string
}

// OCRConcurrency is an optional interface of an [OCR]: Concurrency reports
// how many pages of one document the Extractor hands to Recognize at once.
// Without it, or when it returns 0 or less, the Extractor uses
// runtime.GOMAXPROCS(0). Engines that run processes or call a rate-limited
// service should also bound their calls across documents themselves (the
// tesseract engine does).
type OCRConcurrency interface {
	Concurrency() int
}

// ocrPageResult is the outcome of one Recognize call.
type ocrPageResult struct {
	done bool // Recognize returned (text or err is meaningful)
	text string
	err  error
}

// ocrJob is one page handed to the OCR.
type ocrJob struct {
	index   int    // into doc.Pages
	number  int    // page number
	garbled string // why the text layer looks garbled; "" for an empty page
}

// recognize gives the OCR the selected pages that have no text or garbled
// text, and reports in warnings what it did, so that a document without a
// text layer never comes back as an empty success:
//
//   - An empty page of a PDF or an image (or of any type the OCR reads)
//     keeps or gets a no_text_layer warning when no OCR reads it (none is
//     configured, or it does not read the media type) or when OCR failed,
//     the message saying which.
//   - A page the OCR read gets an ocr_applied warning naming the engine,
//     in place of its no_text_layer warning.
//   - A page whose text looks garbled as a whole (see [garbledReason])
//     gets a suspected_garbled_text warning unless the OCR read it better;
//     a page garbled in part gets the warning, and no OCR.
//
// The OCR phase ends at deadline, the extraction's (Config.Timeout after
// it started, parsing included). Pages not read by then keep their
// warning, which says so, and the extraction succeeds with the rest; when
// the caller's ctx ends instead, recognize returns its error.
func (e *Extractor) recognize(ctx context.Context, in Input, selected map[int]bool, doc *Document, deadline time.Time) error {
	ocr := e.cfg.OCR
	if !pagedImageType(in.MediaType, ocr) {
		// A text format: an empty page is an empty document, and odd
		// characters are what the file holds.
		return nil
	}
	reads := ocrReads(ocr, in.MediaType)
	if len(doc.Pages) == 0 {
		doc.Pages = []Page{{Number: 1, Text: doc.Text}} // as normalize would
		doc.Text = ""
	}
	// Fresh slices: the parser's may be shared (a cached Document).
	doc.Pages = slices.Clone(doc.Pages)
	doc.Warnings = slices.Clone(doc.Warnings)

	var jobs []ocrJob
	offset := 0 // code points before the page, as normalize will count them
	for i, pg := range doc.Pages {
		num := pg.Number
		if num == 0 {
			num = i + 1
		}
		if selected != nil && !selected[num] {
			continue
		}
		full := offset >= in.Limits.MaxChars // normalize will cut this page away
		offset += utf8.RuneCountInString(pg.Text) + len(pageSep)
		if full || hasPageWarning(doc.Warnings, num, WarnTruncated) {
			continue
		}
		switch {
		case isBlank(pg.Text):
			if hasPageWarning(doc.Warnings, num, WarnPageFailed) && !reads {
				continue // the parser failed on the page and said so
			}
			jobs = append(jobs, ocrJob{index: i, number: num})
		default:
			switch why, whole := garbledReason(pg.Text); {
			case whole:
				jobs = append(jobs, ocrJob{index: i, number: num, garbled: why})
			case why != "":
				setPageWarning(doc, num, WarnGarbledText, fmt.Sprintf("part of the text of page %d looks garbled (%s); the text layer is kept", num, why))
			}
		}
	}
	if len(jobs) == 0 {
		return nil
	}

	var results []ocrPageResult
	var timedOut bool
	if reads {
		var err error
		results, timedOut, err = e.runOCR(ctx, in, doc.Metadata.Language, jobs, deadline)
		if err != nil {
			return err
		}
	} else {
		results = make([]ocrPageResult, len(jobs))
	}

	why := "OCR is off"
	if ocr != nil {
		why = fmt.Sprintf("OCR is off for %s (the engine %s does not read it)", BaseType(in.MediaType), ocr.Name())
	}
	for k, job := range jobs {
		r := results[k]
		pg := &doc.Pages[job.index]
		var engineSaid string // what became of OCR, for the warning
		switch {
		case !reads:
			engineSaid = why
		case !r.done && timedOut:
			engineSaid = fmt.Sprintf("OCR (%s) did not reach this page within the deadline of %s", ocr.Name(), e.cfg.Timeout)
		case !r.done:
			engineSaid = fmt.Sprintf("OCR (%s) did not read this page", ocr.Name())
		case r.err != nil:
			engineSaid = fmt.Sprintf("OCR (%s) failed: %s", ocr.Name(), ocrErrorMessage(r.err))
		}
		if job.garbled == "" {
			if engineSaid != "" {
				setPageWarning(doc, job.number, WarnNoTextLayer, fmt.Sprintf("page %d has no text layer (a scan or an image) and %s", job.number, engineSaid))
				continue
			}
			pg.Text = r.text
			msg := fmt.Sprintf("page %d has no text layer; its text was read by OCR (%s)", job.number, ocr.Name())
			if isBlank(r.text) {
				msg = fmt.Sprintf("page %d has no text layer, and OCR (%s) found no text on it", job.number, ocr.Name())
			}
			dropPageWarning(doc, job.number, WarnNoTextLayer)
			setPageWarning(doc, job.number, WarnOCRApplied, msg)
			continue
		}
		if engineSaid == "" {
			if !garbled(r.text) && !isBlank(r.text) {
				pg.Text = r.text
				setPageWarning(doc, job.number, WarnOCRApplied, fmt.Sprintf("the text layer of page %d looks garbled (%s); it was replaced by OCR (%s)", job.number, job.garbled, ocr.Name()))
				continue
			}
			engineSaid = fmt.Sprintf("OCR (%s) did not read it better", ocr.Name())
		}
		setPageWarning(doc, job.number, WarnGarbledText, fmt.Sprintf("the text of page %d looks garbled (%s); %s, so the text layer is kept", job.number, job.garbled, engineSaid))
	}
	return nil
}

// runOCR recognizes the pages of jobs with bounded parallelism, until
// deadline. results[k] is the outcome of jobs[k]; pages
// not read when the deadline passed are not done, and timedOut is set.
// The error is the caller's context error, when ctx ended.
func (e *Extractor) runOCR(ctx context.Context, in Input, lang string, jobs []ocrJob, deadline time.Time) (results []ocrPageResult, timedOut bool, err error) {
	ocr := e.cfg.OCR
	octx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()

	workers := 0
	if c, ok := ocr.(OCRConcurrency); ok {
		workers = c.Concurrency()
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(jobs))

	var (
		mu       sync.Mutex
		out      = make([]ocrPageResult, len(jobs))
		finished bool // set when runOCR stops waiting: later results are dropped
		next     = 0
		wg       sync.WaitGroup
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if finished || next >= len(jobs) || octx.Err() != nil {
			return 0, false
		}
		next++
		return next - 1, true
	}
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				k, ok := take()
				if !ok {
					return
				}
				text, err := e.recognizePage(octx, ocr, OCRRequest{Input: in, Page: jobs[k].number, Language: lang})
				mu.Lock()
				if !finished {
					out[k] = ocrPageResult{done: true, text: text, err: err}
				}
				mu.Unlock()
			}
		})
	}
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	select {
	case <-all:
	case <-octx.Done():
		// An engine that ignores ctx must not hold the extraction: the
		// pages it has not returned by now count as unread.
		select {
		case <-all:
		case <-time.After(ocrGrace):
			e.cfg.Logger.Warn("OCR engine did not return after its context ended", "engine", ocr.Name())
		}
	}
	mu.Lock()
	finished = true
	results = slices.Clone(out)
	mu.Unlock()

	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, false, fmt.Errorf("%w during OCR", ErrTimeout)
		}
		return nil, false, err
	}
	if octx.Err() != nil {
		timedOut = true
		e.cfg.Logger.Warn("OCR stopped at the deadline", "engine", ocr.Name(), "pages", len(jobs), "elapsed", time.Since(start))
		// A page that failed because the deadline cancelled it did not
		// fail: it was not reached.
		for k := range results {
			if r := results[k]; r.done && r.err != nil && (errors.Is(r.err, context.DeadlineExceeded) || errors.Is(r.err, context.Canceled)) {
				results[k] = ocrPageResult{}
			}
		}
	}
	return results, timedOut, nil
}

// ocrGrace is how long runOCR waits, once the deadline passed, for Recognize
// calls to notice it.
const ocrGrace = 2 * time.Second

// recognizePage calls the OCR for one page, turning a panic into an error.
func (e *Extractor) recognizePage(ctx context.Context, ocr OCR, req OCRRequest) (text string, err error) {
	defer func() {
		if v := recover(); v != nil {
			e.cfg.Logger.Error("OCR engine panicked", "engine", ocr.Name(), "page", req.Page, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			text, err = "", errors.New("the OCR engine failed on this page")
		}
	}()
	text, err = ocr.Recognize(ctx, req)
	if err != nil && ctx.Err() == nil {
		e.cfg.Logger.Warn("OCR of a page failed", "engine", ocr.Name(), "page", req.Page, "error", err.Error())
	}
	return text, err
}

// ocrErrorMessage is the part of an OCR error a warning shows: its first
// line, at most 200 bytes.
func ocrErrorMessage(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	if len(msg) > 200 {
		msg = strings.ToValidUTF8(msg[:200], "") + "..."
	}
	return msg
}

// pagedImageType reports whether the pages of mediaType are drawn - PDF,
// every image type, and whatever the OCR engine reads - so that an empty
// page is a scan rather than an empty document, and a text layer can be
// garbled.
func pagedImageType(mediaType string, ocr OCR) bool {
	t := BaseType(mediaType)
	return t == "application/pdf" || strings.HasPrefix(t, "image/") || ocrReads(ocr, mediaType)
}

// ocrReads reports whether ocr reads mediaType, or a type it derives from
// in the sniffer's hierarchy (an APNG is a PNG), as [Registry.Lookup]
// follows it.
func ocrReads(ocr OCR, mediaType string) bool {
	if ocr == nil {
		return false
	}
	types := ocr.MediaTypes()
	t := BaseType(mediaType)
	if slices.Contains(types, t) {
		return true
	}
	for m := mimetype.Lookup(t); m != nil; m = m.Parent() {
		if p := BaseType(m.String()); p != "application/octet-stream" && slices.Contains(types, p) {
			return true
		}
	}
	return false
}

func isBlank(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !unicode.IsSpace(r) }) < 0
}

func hasPageWarning(ws []Warning, page int, code string) bool {
	for _, w := range ws {
		if w.Page == page && w.Code == code {
			return true
		}
	}
	return false
}

// setPageWarning sets the message of the page's warning of code, adding
// the warning when there is none.
func setPageWarning(doc *Document, page int, code, msg string) {
	for i, w := range doc.Warnings {
		if w.Page == page && w.Code == code {
			doc.Warnings[i].Message = msg
			return
		}
	}
	doc.Warnings = append(doc.Warnings, Warning{Code: code, Message: msg, Page: page})
}

// dropPageWarning removes the page's warnings of code.
func dropPageWarning(doc *Document, page int, code string) {
	doc.Warnings = slices.DeleteFunc(doc.Warnings, func(w Warning) bool { return w.Page == page && w.Code == code })
}

// Garbled-text heuristic. A text layer is garbled when a PDF maps its glyphs
// to the wrong characters: fonts without a usable ToUnicode map give
// replacement or private-use characters, control codes, glyph indices read
// as code points (letters from many scripts in one word), or text decoded
// in the wrong encoding (UTF-8 read as Latin-1: "Ã©", "Ð¿"). The thresholds
// leave a wide margin over the Quarry corpus's expected texts (English,
// German, French, Russian, Japanese, Arabic, code, formulas, tables), on
// which none of the rules fires (TestGarbledCorpus).
const (
	// garbledMinRunes: shorter texts are not judged.
	garbledMinRunes = 16
	// garbledPartShare and garbledBadShare: shares of non-space runes
	// that are U+FFFD, private use, unassigned or control characters, from
	// which a text is garbled in part (a warning) and as a whole (OCR).
	garbledPartShare = 0.10
	garbledBadShare  = 0.50
	// garbledTaintedShare: share of non-space runes in whitespace-separated
	// tokens holding such a rune, from which a text garbled in part is
	// garbled as a whole (the bad runes are everywhere, not in a figure).
	garbledTaintedShare = 0.50
	// garbledMojibakeShare: share of letters in UTF-8-as-Latin-1 pairs.
	garbledMojibakeShare = 0.05
	// garbledMixedShare: share of words of 3 letters or more that mix
	// scripts (Han, kana and Hangul count as one; Latin and Greek too).
	garbledMixedShare = 0.20
	// garbledMinWords: fewer words are not judged on script mixing.
	garbledMinWords = 8
	// garbledLetterShare: letters, marks and digits below this share of
	// the non-space runes, a run of one rune counting once (with at least
	// garbledMinSymbolRunes of them), leave a text of symbol soup.
	garbledLetterShare    = 0.35
	garbledMinSymbolRunes = 64
)

// garbled reports whether text looks garbled, as a whole or in part; see
// [garbledReason].
func garbled(text string) bool {
	why, _ := garbledReason(text)
	return why != ""
}

// garbledReason says why text looks like a garbled text layer rather than
// real text, or returns "" when it looks fine (or is too short to tell);
// whole reports that the page as a whole is garbled, so that OCR should
// read it, rather than a part of it. The rules, each measured over the
// non-space code points:
//
//  1. More than half are U+FFFD, private-use, unassigned or control
//     characters (tab and line ends aside): glyphs with no known meaning.
//     From 10% to half, the text is garbled as a whole when such characters
//     taint (sit in) the whitespace-separated tokens that hold more than
//     half of the text - a font whose glyph indices came out as code
//     points, with a control code for each space - and in part
//     otherwise: a figure or a table set in a font without a Unicode map,
//     next to good text, which OCR of the whole page would read worse (on
//     the corpus's tracemonkey and redp5110 pages, word F1 falls by 0.005
//     to 0.007 when it does; on the Symbol font table of standard_fonts,
//     37% unmapped, by 0.03).
//  2. More than 5% of the letters sit in pairs that UTF-8 decoded as
//     Latin-1 or Windows-1252 produces (a lead byte such as Ã, Ð, â
//     followed by a continuation byte such as ©, ¿, €).
//  3. More than 20% of the words of three letters or more (at least 8
//     such words) mix letters of different scripts, as glyph indices read
//     as code points do. Han, Hiragana, Katakana and Hangul count as one
//     script, and so do Latin and Greek (some orthographies borrow Greek
//     letters); Common and Inherited (digits, marks) count as none.
//  4. Fewer than 35% are letters, marks or digits, over at least 64 code
//     points: punctuation and symbol soup. A code point equal to the one
//     before it (spaces aside) is not counted, so that rules drawn with
//     dashes and dot leaders (tables, tables of contents) are no soup.
//
// Rules 2 to 4 judge the page as a whole.
func garbledReason(text string) (why string, whole bool) {
	var (
		n, bad, letters int
		distinct, alnum int // runes unlike the rune before, and the letters and digits among them
		mojibake        int
		words, mixed    int
		wordLen         int
		wordScript      *unicode.RangeTable
		wordMixed       bool
		prev            rune // the rune before, space or not
		prevSeen        rune // the last non-space rune
		tokenLen        int  // runes of the current whitespace-separated token
		tokenBad        bool // the token holds a rune counted in bad
		tainted         int  // runes in tokens holding a bad rune
	)
	endToken := func() {
		if tokenBad {
			tainted += tokenLen
		}
		tokenLen, tokenBad = 0, false
	}
	endWord := func() {
		if wordLen >= 3 {
			words++
			if wordMixed {
				mixed++
			}
		}
		wordLen, wordScript, wordMixed = 0, nil, false
	}
	for _, r := range text {
		if unicode.IsSpace(r) {
			endWord()
			endToken()
			prev = r
			continue
		}
		n++
		tokenLen++
		switch {
		case r == utf8.RuneError, unicode.Is(unicode.Co, r), unicode.IsControl(r):
			bad++
			tokenBad = true
		case !unicode.IsGraphic(r) && !unicode.Is(unicode.Cf, r):
			bad++ // unassigned
			tokenBad = true
		}
		isLetter := unicode.IsLetter(r)
		if r != prevSeen {
			distinct++
			if r >= 0x80 || isLetter || unicode.IsNumber(r) {
				alnum++ // soup is ASCII punctuation and symbols
			}
		}
		if isLetter {
			letters++
			if s := scriptOf(r); s != nil {
				if wordScript == nil {
					wordScript = s
				} else if wordScript != s {
					wordMixed = true
				}
			}
			wordLen++
		} else if !unicode.IsMark(r) {
			endWord()
		}
		if mojibakeLead(prev) && mojibakeTrail(r) {
			mojibake += 2
		}
		prev, prevSeen = r, r
	}
	endWord()
	endToken()
	if n < garbledMinRunes {
		return "", false
	}
	pct := func(a, b int) int { return (100*a + b/2) / b }
	switch {
	case float64(bad) > garbledBadShare*float64(n),
		float64(bad) > garbledPartShare*float64(n) && float64(tainted) > garbledTaintedShare*float64(n):
		return fmt.Sprintf("%d%% of its characters are replacement, private-use or control characters", pct(bad, n)), true
	case letters > 0 && float64(mojibake) > garbledMojibakeShare*float64(letters):
		return "it reads like UTF-8 decoded as Latin-1", true
	case words >= garbledMinWords && float64(mixed) > garbledMixedShare*float64(words):
		return fmt.Sprintf("%d%% of its words mix letters of different scripts", pct(mixed, words)), true
	case distinct >= garbledMinSymbolRunes && float64(alnum) < garbledLetterShare*float64(distinct):
		return fmt.Sprintf("only %d%% of its characters are letters or digits", pct(alnum, distinct)), true
	case float64(bad) > garbledPartShare*float64(n):
		return fmt.Sprintf("%d%% of its characters are replacement, private-use or control characters", pct(bad, n)), false
	}
	return "", false
}

// scripts are the scripts scriptOf tells apart; the CJK ones share a group,
// and Greek goes with Latin.
var scripts = []*unicode.RangeTable{
	unicode.Latin, unicode.Cyrillic, unicode.Arabic, unicode.Hebrew,
	unicode.Han, unicode.Devanagari, unicode.Thai, unicode.Armenian, unicode.Georgian,
	unicode.Bengali, unicode.Tamil, unicode.Ethiopic, unicode.Syriac, unicode.Thaana,
}

// scriptOf returns the script group of a letter, or nil for a script not in
// the list (which then never counts as mixing).
func scriptOf(r rune) *unicode.RangeTable {
	if r < 0x80 || unicode.Is(unicode.Greek, r) {
		return unicode.Latin
	}
	if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul, unicode.Bopomofo) || r == 0x30FC {
		return unicode.Han
	}
	for _, s := range scripts {
		if unicode.Is(s, r) {
			return s
		}
	}
	return nil
}

// mojibakeLead reports a character that a UTF-8 lead byte of a two- or
// three-byte sequence becomes in Latin-1: Â..ï (0xC2-0xEF).
func mojibakeLead(r rune) bool { return r >= 0xC2 && r <= 0xEF }

// mojibakeTrail reports a character that a UTF-8 continuation byte
// (0x80-0xBF) becomes in Latin-1 or Windows-1252.
func mojibakeTrail(r rune) bool {
	if r >= 0x80 && r <= 0xBF {
		return true
	}
	return strings.ContainsRune("€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ", r)
}
