package server

import (
	"embed"
	"net/http"

	"github.com/go-chi/chi/v5"
)

// docsui holds Swagger UI (Apache-2.0, see docsui/LICENSE), served by the
// binary so /docs works without internet access.
//
//go:embed docsui
var docsui embed.FS

const docsPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Quarry API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
`

// The initializer is a file of its own: the CSP of /docs allows scripts
// from 'self' only, never inline.
const docsInit = `window.ui = SwaggerUIBundle({
  url: location.search.indexOf("v=2") >= 0 ? "/api/v2/openapi.json" : "/api/v1/openapi.json",
  dom_id: "#docs",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
});
`

func mountDocs(r chi.Router) {
	r.Get("/docs", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(docsPage))
	})
	r.Get("/docs/assets/init.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write([]byte(docsInit))
	})
	r.Get("/docs/assets/{file}", func(w http.ResponseWriter, req *http.Request) {
		name := chi.URLParam(req, "file")
		var ctype string
		switch name {
		case "swagger-ui-bundle.js":
			ctype = "text/javascript; charset=utf-8"
		case "swagger-ui.css":
			ctype = "text/css; charset=utf-8"
		default:
			notFound(w, req)
			return
		}
		b, err := docsui.ReadFile("docsui/" + name)
		if err != nil {
			notFound(w, req)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Cache-Control", "public, max-age=86400")
		_, _ = w.Write(b)
	})
}
