package extract

// ChunkOptions ask for the text to be split into chunks for retrieval.
// (Being built: see issue 4.)
type ChunkOptions struct {
	// Strategy is "fixed", "by_page" or "by_heading".
	Strategy string `json:"strategy"`
	// MaxChars caps a chunk in code points.
	MaxChars int `json:"max_chars,omitempty"`
	// MaxTokens caps a chunk in tokens.
	MaxTokens int `json:"max_tokens,omitempty"`
	// Overlap is how much of the previous chunk a chunk repeats.
	Overlap int `json:"overlap,omitempty"`
}

// Heading is one heading of a document.
type Heading struct {
	Level int    `json:"level"`
	Text  string `json:"text"`
	Page  int    `json:"page"`
	Start int    `json:"start"`
}

// Chunk is one piece of Document.Text.
type Chunk struct {
	ID          string   `json:"id"`
	Text        string   `json:"text"`
	Start       int      `json:"start"`
	End         int      `json:"end"`
	PageStart   int      `json:"page_start"`
	PageEnd     int      `json:"page_end"`
	HeadingPath []string `json:"heading_path"`
}

func validateChunking(o *ChunkOptions) error { return nil }

func chunkDocument(doc *Document, o ChunkOptions) []Chunk { return nil }

func detectLanguage(text string) string { return "" }

// placeHeadings turns heading offsets into offsets into doc.Text, dropping
// headings of pages that were not selected or were cut.
func placeHeadings(doc *Document) {}
