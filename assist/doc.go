// Package assist runs the AI-assist tasks of POST /ai-assist (summarize,
// rewrite, titles, ask, translate) on a pluggable Provider.
//
// # Design
//
// Like database/sql/driver, the provider interface is tiny: Provider has one
// method, Complete. Optional capabilities are separate interfaces found by
// type assertion: a Streamer streams its output. Two providers ship here:
//
//   - Extractive: offline and deterministic. Summaries are the most central
//     sentences (package extract/summary, TextRank); titles are key phrases
//     (RAKE); answers to questions are the sentences that best match the
//     question (Okapi BM25) with citations into the source. Rewrite and
//     translate need a language model: they fail with ErrUnavailable.
//   - OpenAI: any OpenAI-compatible chat-completions server, through
//     github.com/openai/openai-go/v3, with streaming.
//
// A Service validates a Task (a *ValidationError names the faulty field),
// fits the source text to the context budget, calls the provider under a
// deadline, caps the output and logs one record per task.
//
// # Grounding
//
// A source text that fits Config.MaxInputChars is sent whole. A longer one is
// cut into passages of Config.ChunkChars code points at paragraph, sentence
// or word boundaries (package extract/chunk); for ask the passages that best
// match the question (BM25) are kept, for the other tasks the leading ones,
// until the budget is full; the kept passages go in document order, joined by
// a blank line. Request.Passages keeps each passage's offsets, so citations
// are offsets into the original source text, in code points.
//
// # Prompts
//
// The prompts are text/template templates in prompts/prompts.tmpl, embedded
// in the binary and rendered by Prompt. The template "system" is the system
// message of every task; the templates "summarize", "rewrite", "titles",
// "ask" and "translate" are the user messages, executed with the Request
// (fields .Text, .Instruction, .Question, .Language). The document is fenced
// in <document> tags and the system prompt tells the model that it is data,
// not instructions.
//
// # Failures
//
// Provider failures wrap sentinels, mapped by the server to the contract's
// error codes: ErrUpstreamTimeout (504 upstream_timeout), ErrUpstream (502
// fetch_failed), ErrRateLimited and ErrUnavailable (503, with the
// Retry-After of an *UpstreamError passed on). The OpenAI provider retries
// once, after a backoff, only after a 5xx answer or a connection error; it
// reads at most OpenAIConfig.MaxResponseBytes of an answer.
//
// # Privacy
//
// Neither the Service nor the providers log document text, prompts,
// questions, instructions or upstream answers: log records carry the task,
// provider, model, sizes, token counts, duration and an error kind only.
package assist
