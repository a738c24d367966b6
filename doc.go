// Package quarry turns what people bring - documents, web pages, audio and
// video - into clean, citable text, summaries, transcripts and AI
// assistance, behind a production-grade HTTP API. It is an embeddable Go library plus a thin reference server.
//
// This root package holds no code; it documents the architecture.
//
// # Packages
//
// The dependency direction runs one way: domain packages never import the
// HTTP layer, and the extraction engine imports nothing of Quarry's.
//
//   - [github.com/quarryhq/quarry/extract]: the extraction engine. The
//     published extension point Parser (two methods) with optional
//     capability interfaces (Sniffer, Versioner), a Registry value, content
//     sniffing, and the Extractor, which runs a parser under a deadline, an
//     output cap and a panic guard and returns a Document: text, pages with
//     code-point offsets, metadata and warnings. Summary mode ranks
//     sentences (extract/summary); chunking for retrieval (extract/chunk),
//     language detection (extract/lang), and OCR of pages without a text
//     layer through the OCR interface.
//   - extract/txt, markdown, html, docx, pptx, xlsx, odf, epub, pdf, rtf,
//     csv, jsontext, xmltext, eml, image: the built-in parsers, one package
//     each, so an embedder pulls in only what it registers.
//     extract/standard registers them all. extract/extracttest is the
//     conformance suite any parser can run.
//   - extract/ocr: the tesseract OCR engine (pdftoppm renders PDF pages).
//   - extract/transcript: the parser of audio, video and subtitle files
//     (an ExternalTool: its own deadline, in process); a transcript comes
//     from uploaded subtitles, else a subtitle track, else speech.
//   - [github.com/quarryhq/quarry/media]: ffprobe and ffmpeg on untrusted
//     media (own container sniffing, forced demuxer, protocol whitelist,
//     process-group kill, duration cap): probe, 16 kHz WAV, subtitles.
//   - [github.com/quarryhq/quarry/transcribe]: speech recognition behind the
//     Transcriber interface: pocketsphinx offline, or any OpenAI-compatible
//     whisper server.
//   - [github.com/quarryhq/quarry/assist]: the AI-assist tasks (summarize,
//     rewrite, titles, ask, translate) on a Provider: extractive offline, or
//     any OpenAI-compatible chat-completions server, with grounding in
//     passages, templated prompts and capped outputs.
//   - extract/isolate: runs parsers in warm worker processes of the same
//     binary (re-exec hook, deadline kill, rlimits, recycling), so a
//     hostile file cannot take the server down.
//   - [github.com/quarryhq/quarry/urlfetch]: the SSRF-safe fetcher for
//     user-given URLs (dial-time address checks, capped redirects and bytes).
//   - [github.com/quarryhq/quarry/storage]: SQLite through sqlx and
//     modernc.org/sqlite (one writer connection, a reader pool, embedded
//     versioned migrations) and the content-addressed blob store.
//   - [github.com/quarryhq/quarry/sources]: stored inputs. Ingests uploads,
//     URLs and raw text in one streaming pass (hash, sniff, store), lists
//     them with cursors, extracts them and keeps the latest extraction.
//   - [github.com/quarryhq/quarry/auth]: tenants, users with roles (viewer,
//     editor, admin), argon2id passwords, HS256 access tokens verified
//     against the database on every request (revocation at once), opaque
//     rotating refresh tokens in families with reuse detection.
//   - [github.com/quarryhq/quarry/audit]: the append-only audit trail;
//     details are scrubbed of anything that looks like a secret.
//   - [github.com/quarryhq/quarry/flags]: feature flags, global or per
//     tenant, with a short-lived cache.
//   - [github.com/quarryhq/quarry/idempotency]: the first successful
//     response to a request with an Idempotency-Key, replayed to its
//     retries for 24 hours.
//   - [github.com/quarryhq/quarry/projects]: named groups of sources per
//     tenant (names unique whatever their case), the unit of batch
//     extraction; memberships cascade when a source or project goes.
//   - [github.com/quarryhq/quarry/server]: the only package that knows HTTP:
//     huma v2 on chi v5, the /api/v1 contract with one response envelope,
//     the mapping from domain errors to contract codes (one function),
//     per-operation security enforced by one middleware, login rate limits,
//     request ids, JSON access logs, security headers, metrics, offline docs.
//   - cmd/quarry: the binary (serve, extract, eval, migrate, user, version), which reads
//     the configuration and wires the packages together.
//
// # Embedding
//
//	db, _ := storage.Open(ctx, storage.Config{Path: "quarry.db"})
//	_ = db.Migrate(ctx)
//	blobs, _ := storage.NewLocalBlobs("blobs", nil)
//	ex, _ := extract.New(standard.NewRegistry(), extract.Config{})
//	src, _ := sources.New(sources.Config{DB: db, Blobs: blobs, Extractor: ex})
//	srv, _ := server.New(server.Config{}, server.Deps{Sources: src})
//	_ = srv.ListenAndServe(ctx, "127.0.0.1:8080")
//
// Register your own parser before building the Extractor:
//
//	reg := standard.NewRegistry()
//	reg.MustRegister("vcard", myVCardParser{})
//
// See docs/architecture.md for the picture and README.md for the
// configuration.
package quarry
