package extract

import "context"

// OCR reads text from pages that have no text layer. (Being built: see issue 4.)
type OCR interface {
	// MediaTypes lists the document types it can read pages of.
	MediaTypes() []string
	// Recognize returns the text of page (1-based) of in.
	Recognize(ctx context.Context, in Input, page int) (string, error)
}

func (e *Extractor) recognize(ctx context.Context, in Input, selected map[int]bool, doc *Document) error {
	return nil
}
