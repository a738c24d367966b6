package sources

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/quarryhq/quarry/extract"
)

// companionEcho is a parser whose text is its input's, then its
// companion's when it has one.
type companionEcho struct{}

func (companionEcho) MediaTypes() []string { return []string{"text/plain"} }
func (companionEcho) Parse(_ context.Context, in extract.Input) (*extract.Document, error) {
	b, err := io.ReadAll(in.Reader())
	if err != nil {
		return nil, err
	}
	text := string(b)
	if c := in.Companion; c != nil {
		cb, err := io.ReadAll(io.NewSectionReader(c.R, 0, c.Size))
		if err != nil {
			return nil, err
		}
		text += " + " + string(cb) + " (" + c.Filename + ", " + extract.BaseType(c.MediaType) + ")"
	}
	return &extract.Document{Text: text}, nil
}

func TestCompanion(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		reg := extract.NewRegistry()
		reg.MustRegister("echo", companionEcho{})
		ex, err := extract.New(reg, extract.Config{})
		if err != nil {
			t.Fatal(err)
		}
		c.Extractor = ex
	})
	ctx := context.Background()
	main, err := e.svc.IngestUpload(ctx, DefaultTenant, strings.NewReader("the main file"), "main.txt")
	if err != nil {
		t.Fatal(err)
	}
	side, err := e.svc.IngestUpload(ctx, DefaultTenant, strings.NewReader("the side file"), "side.txt")
	if err != nil {
		t.Fatal(err)
	}

	src, err := e.svc.SetCompanion(ctx, DefaultTenant, main.ID, side.ID)
	if err != nil {
		t.Fatal(err)
	}
	if src.Metadata[MetaCompanion] != side.ID || !src.UpdatedAt.After(main.UpdatedAt) && !src.UpdatedAt.Equal(main.UpdatedAt) {
		t.Errorf("source after SetCompanion: %+v", src)
	}
	if got, _ := e.svc.Get(ctx, DefaultTenant, main.ID); got.Metadata[MetaCompanion] != side.ID {
		t.Errorf("stored metadata %v", got.Metadata)
	}
	x, err := e.svc.Extract(ctx, DefaultTenant, main.ID, extract.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "the main file + the side file (side.txt, text/plain)"; x.Document.Text != want {
		t.Errorf("text %q, want %q", x.Document.Text, want)
	}

	// Unknown ids on either side, another tenant, and itself.
	for _, c := range [][3]string{
		{DefaultTenant, main.ID, "src_01kaxxxxxxxxxxxxxxxxxxxxxx"},
		{DefaultTenant, "src_01kaxxxxxxxxxxxxxxxxxxxxxx", side.ID},
		{"other", main.ID, side.ID},
	} {
		if _, err := e.svc.SetCompanion(ctx, c[0], c[1], c[2]); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetCompanion(%q, %q, %q): err = %v, want ErrNotFound", c[0], c[1], c[2], err)
		}
	}
	if _, err := e.svc.SetCompanion(ctx, DefaultTenant, main.ID, main.ID); err == nil {
		t.Error("a source became its own companion")
	}

	// A companion that was deleted is no longer passed.
	if err := e.svc.Delete(ctx, DefaultTenant, side.ID); err != nil {
		t.Fatal(err)
	}
	x, err = e.svc.Extract(ctx, DefaultTenant, main.ID, extract.Options{})
	if err != nil || x.Document.Text != "the main file" {
		t.Errorf("after the companion's deletion: %q, %v", x.Document.Text, err)
	}
}
