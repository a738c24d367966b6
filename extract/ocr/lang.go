package ocr

import "strings"

// validLanguage reports a plausible tesseract model name: ASCII letters,
// digits and underscores, such as "eng" or "chi_sim". It keeps anything
// that looks like an option or a path out of the -l argument.
func validLanguage(l string) bool {
	if l == "" || len(l) > 32 {
		return false
	}
	for _, r := range l {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// bcp47ToTesseract maps ISO 639-1 language subtags to tesseract model
// names (ISO 639-2/T, with tesseract's own names for Chinese).
var bcp47ToTesseract = map[string]string{
	"af": "afr", "ar": "ara", "az": "aze", "be": "bel", "bg": "bul", "bn": "ben", "bs": "bos",
	"ca": "cat", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu", "el": "ell", "en": "eng",
	"eo": "epo", "es": "spa", "et": "est", "eu": "eus", "fa": "fas", "fi": "fin", "fr": "fra",
	"ga": "gle", "gl": "glg", "gu": "guj", "he": "heb", "hi": "hin", "hr": "hrv", "hu": "hun",
	"hy": "hye", "id": "ind", "is": "isl", "it": "ita", "ja": "jpn", "ka": "kat", "kk": "kaz",
	"km": "khm", "kn": "kan", "ko": "kor", "lt": "lit", "lv": "lav", "mk": "mkd", "ml": "mal",
	"mr": "mar", "ms": "msa", "mt": "mlt", "my": "mya", "nb": "nor", "ne": "nep", "nl": "nld",
	"nn": "nor", "no": "nor", "pa": "pan", "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus",
	"sk": "slk", "sl": "slv", "sq": "sqi", "sr": "srp", "sv": "swe", "sw": "swa", "ta": "tam",
	"te": "tel", "th": "tha", "tl": "tgl", "tr": "tur", "uk": "ukr", "ur": "urd", "uz": "uzb",
	"vi": "vie", "yi": "yid",
}

// tesseractLanguage maps a BCP 47 tag ("de", "en-US", "zh-Hant-TW") to a
// tesseract model name, or "" when it knows none.
func tesseractLanguage(tag string) string {
	parts := strings.Split(strings.ToLower(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-")), "-")
	if parts[0] == "zh" {
		for _, p := range parts[1:] {
			if p == "hant" || p == "tw" || p == "hk" || p == "mo" {
				return "chi_tra"
			}
		}
		return "chi_sim"
	}
	return bcp47ToTesseract[parts[0]]
}
