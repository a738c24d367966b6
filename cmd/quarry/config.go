package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"github.com/quarryhq/quarry/extract/isolate"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.yaml.in/yaml/v3"

	"github.com/quarryhq/quarry/server"
	"github.com/quarryhq/quarry/urlfetch"
)

// Config is the whole configuration of the quarry binary: defaults, then an
// optional YAML file (--config), then QUARRY_* environment variables, then
// command-line flags. Each field's yaml key is its environment variable
// without the QUARRY_ prefix, in lower case.
type Config struct {
	Addr             string        `yaml:"addr" env:"QUARRY_ADDR" help:"listen address (:8080 to expose)"`
	DataDir          string        `yaml:"data_dir" env:"QUARRY_DATA_DIR" help:"SQLite file, blobs and generated secrets"`
	DatabaseURL      string        `yaml:"database_url" env:"QUARRY_DATABASE_URL" help:"database: a SQLite file path or sqlite:// URL (default: quarry.db in the data dir)"`
	BlobURL          string        `yaml:"blob_url" env:"QUARRY_BLOB_URL" help:"blob store location, file:// + directory (default: blobs in the data dir)"`
	MaxUploadBytes   int64         `yaml:"max_upload_bytes" env:"QUARRY_MAX_UPLOAD_BYTES" help:"upload and download cap in bytes"`
	FetchAllowCIDRs  string        `yaml:"fetch_allow_cidrs" env:"QUARRY_FETCH_ALLOW_CIDRS" help:"extra address ranges the URL fetcher may reach, comma-separated"`
	FetchAllowPorts  string        `yaml:"fetch_allow_ports" env:"QUARRY_FETCH_ALLOW_PORTS" help:"ports the URL fetcher may reach, comma-separated"`
	ExtractTimeout   time.Duration `yaml:"extract_timeout" env:"QUARRY_EXTRACT_TIMEOUT" help:"deadline of one extraction"`
	MaxExtractChars  int           `yaml:"max_extract_chars" env:"QUARRY_MAX_EXTRACT_CHARS" help:"cap on extracted text, in code points"`
	MaxInFlight      int           `yaml:"max_in_flight" env:"QUARRY_MAX_IN_FLIGHT" help:"extractions running at once (default: number of CPUs)"`
	MaxMediaInFlight int           `yaml:"max_media_in_flight" env:"QUARRY_MAX_MEDIA_IN_FLIGHT" help:"transcriptions of audio and video running at once, besides max_in_flight (default 0: half the CPUs, at least 1)"`
	ShutdownTimeout  time.Duration `yaml:"shutdown_timeout" env:"QUARRY_SHUTDOWN_TIMEOUT" help:"grace period for requests in flight at shutdown"`
	AuthRequired     bool          `yaml:"auth_required" env:"QUARRY_AUTH_REQUIRED" help:"require a bearer token on every endpoint but health, login, refresh, logout (true/false)"`
	TenancyEnforced  bool          `yaml:"tenancy_enforced" env:"QUARRY_TENANCY_ENFORCED" help:"scope every row to the caller's tenant (true/false)"`
	JWTSecret        string        `yaml:"jwt_secret" env:"QUARRY_JWT_SECRET" help:"access-token signing key, or kid=secret,kid2=secret2 for rotation (default: generated once in the data dir)"`
	AccessTokenTTL   time.Duration `yaml:"access_token_ttl" env:"QUARRY_ACCESS_TOKEN_TTL" help:"access token lifetime"`
	LogLevel         string        `yaml:"log_level" env:"QUARRY_LOG_LEVEL" help:"debug, info, warn or error"`
	LogFormat        string        `yaml:"log_format" env:"QUARRY_LOG_FORMAT" help:"json or text"`
	MetricsAddr      string        `yaml:"metrics_addr" env:"QUARRY_METRICS_ADDR" help:"separate listener for /metrics (default: the API listener)"`
	RateLimit        string        `yaml:"rate_limit" env:"QUARRY_RATE_LIMIT" help:"requests per client address on /api/v1 and /api/v2 (health and OpenAPI excepted), ulule format N-S, N-M, N-H or N-D, or off"`
	RedisURL         string        `yaml:"redis_url" env:"QUARRY_REDIS_URL" help:"redis:// or rediss:// URL of a Redis that keeps the rate limit counts, shared by every server using it (default: in memory, per process)"`
	TrustedProxies   string        `yaml:"trusted_proxies" env:"QUARRY_TRUSTED_PROXIES" help:"reverse proxies whose X-Forwarded-For is believed, comma-separated CIDRs or addresses (default: none; the client is the connection's peer)"`
	OCR              string        `yaml:"ocr" env:"QUARRY_OCR" help:"OCR of scanned pages and images: auto (tesseract when installed), tesseract or off"`
	OCRLanguages     string        `yaml:"ocr_languages" env:"QUARRY_OCR_LANGUAGES" help:"tesseract language models, such as eng or eng+deu (Debian: tesseract-ocr-LANG)"`
	OCRConcurrency   int           `yaml:"ocr_concurrency" env:"QUARRY_OCR_CONCURRENCY" help:"pages OCRed at once across all extractions (default 0: the CPUs Go uses)"`
	Isolation        string        `yaml:"isolation" env:"QUARRY_ISOLATION" help:"where the server runs parsers: process (worker processes of this binary, killed at the deadline or on a crash) or off (in the server process)"`
	Workers          int           `yaml:"workers" env:"QUARRY_WORKERS" help:"warm parser worker processes (default 0: the CPUs Go uses)"`
	WorkerMemory     int64         `yaml:"worker_memory" env:"QUARRY_WORKER_MEMORY" help:"memory limit of one parser worker, in bytes (rlimit and GOMEMLIMIT)"`
	WorkerMaxDocs    int           `yaml:"worker_max_docs" env:"QUARRY_WORKER_MAX_DOCS" help:"documents a parser worker reads before it is replaced"`
	LLMURL           string        `yaml:"llm_url" env:"QUARRY_LLM_URL" help:"OpenAI-compatible chat-completions server for ai-assist, such as http://127.0.0.1:11434/v1 (default: the offline extractive provider)"`
	LLMModel         string        `yaml:"llm_model" env:"QUARRY_LLM_MODEL" help:"model name on the LLM server (required with llm_url)"`
	LLMAPIKey        string        `yaml:"llm_api_key" env:"QUARRY_LLM_API_KEY" help:"API key of the LLM server, if it needs one"`
	Transcriber      string        `yaml:"transcriber" env:"QUARRY_TRANSCRIBER" help:"speech recognition for media without subtitles: auto (whisper when whisper_url is set, else pocketsphinx when installed, else subtitles only), whisper, pocketsphinx or off"`
	WhisperURL       string        `yaml:"whisper_url" env:"QUARRY_WHISPER_URL" help:"OpenAI-compatible /v1/audio/transcriptions server, such as https://api.openai.com/v1 or http://127.0.0.1:8000/v1 (whisper.cpp, speaches, LocalAI, vLLM)"`
	WhisperModel     string        `yaml:"whisper_model" env:"QUARRY_WHISPER_MODEL" help:"model name on the whisper server"`
	WhisperAPIKey    string        `yaml:"whisper_api_key" env:"QUARRY_WHISPER_API_KEY" help:"API key of the whisper server, if it needs one"`
	WhisperLanguage  string        `yaml:"whisper_language" env:"QUARRY_WHISPER_LANGUAGE" help:"ISO 639-1 language hint sent to the whisper server (default: it detects)"`
	MediaTimeout     time.Duration `yaml:"media_timeout" env:"QUARRY_MEDIA_TIMEOUT" help:"deadline of one transcript (probe, audio extraction and speech recognition); POST /video-to-text is synchronous within it"`
	MediaMaxDuration time.Duration `yaml:"media_max_duration" env:"QUARRY_MEDIA_MAX_DURATION" help:"longest audio or video accepted (media_too_long past it, checked before decoding)"`
}

func defaultConfig() Config {
	return Config{
		Addr:             "127.0.0.1:8080",
		DataDir:          "./quarry-data",
		MaxUploadBytes:   52428800,
		FetchAllowPorts:  "80,443",
		ExtractTimeout:   30 * time.Second,
		MaxExtractChars:  10 << 20,
		MaxInFlight:      runtime.NumCPU(),
		ShutdownTimeout:  25 * time.Second,
		AccessTokenTTL:   15 * time.Minute,
		LogLevel:         "info",
		LogFormat:        "json",
		OCR:              "auto",
		OCRLanguages:     "eng",
		Isolation:        "process",
		WorkerMemory:     1 << 30,
		WorkerMaxDocs:    100,
		Transcriber:      "auto",
		WhisperModel:     "whisper-1",
		MediaTimeout:     10 * time.Minute,
		MediaMaxDuration: time.Hour,
		RateLimit:        server.DefaultRateLimit,
	}
}

// loadConfig builds the configuration. fs must already define the flags of
// bindFlags; args are parsed here.
func loadConfig(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, []string, error) {
	cfg := defaultConfig()
	configPath := fs.String("config", "", "YAML configuration file")
	set := bindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, nil, err
	}
	if *configPath != "" {
		b, err := os.ReadFile(*configPath)
		if err != nil {
			return cfg, nil, fmt.Errorf("config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // io.EOF: an empty file
			return cfg, nil, fmt.Errorf("config file %s: %w", *configPath, err)
		}
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return cfg, nil, err
	}
	if err := set(&cfg); err != nil {
		return cfg, nil, err
	}
	return cfg, fs.Args(), cfg.validate()
}

// bindFlags defines one flag per field (--addr, --data-dir, ...) and returns
// a function that copies the flags actually given onto a Config.
func bindFlags(fs *flag.FlagSet) func(*Config) error {
	values := map[string]*string{}
	t := reflect.TypeFor[Config]()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.ReplaceAll(f.Tag.Get("yaml"), "_", "-")
		usage := f.Tag.Get("help") + " (" + f.Tag.Get("env") + ")"
		if f.Type.Kind() == reflect.Bool {
			v := new(string)
			values[f.Name] = v
			fs.BoolFunc(name, usage, func(s string) error { *v = s; return nil }) // --auth-required alone means true
			continue
		}
		values[f.Name] = fs.String(name, "", usage)
	}
	return func(cfg *Config) error {
		given := map[string]bool{}
		fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
		v := reflect.ValueOf(cfg).Elem()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := strings.ReplaceAll(f.Tag.Get("yaml"), "_", "-")
			if !given[name] {
				continue
			}
			if err := setField(v.Field(i), *values[f.Name]); err != nil {
				return fmt.Errorf("flag --%s: %w", name, err)
			}
		}
		return nil
	}
}

func applyEnv(cfg *Config, getenv func(string) string) error {
	v := reflect.ValueOf(cfg).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		key := t.Field(i).Tag.Get("env")
		raw := getenv(key)
		if raw == "" {
			continue
		}
		if err := setField(v.Field(i), raw); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	return nil
}

func setField(f reflect.Value, raw string) error {
	raw = strings.TrimSpace(raw)
	switch f.Interface().(type) {
	case string:
		f.SetString(raw)
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("want a duration such as 30s, got %q", raw)
		}
		f.SetInt(int64(d))
	case bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", raw)
		}
		f.SetBool(b)
	case int, int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("want a whole number, got %q", raw)
		}
		f.SetInt(n)
	default:
		return fmt.Errorf("unsupported setting type %s", f.Type())
	}
	return nil
}

func (c Config) validate() error {
	switch {
	case c.Addr == "":
		return errors.New("QUARRY_ADDR (addr) must not be empty")
	case c.DataDir == "":
		return errors.New("QUARRY_DATA_DIR (data_dir) must not be empty")
	case c.MaxUploadBytes <= 0:
		return errors.New("QUARRY_MAX_UPLOAD_BYTES (max_upload_bytes) must be positive")
	case c.ExtractTimeout <= 0:
		return errors.New("QUARRY_EXTRACT_TIMEOUT (extract_timeout) must be positive")
	case c.MaxExtractChars <= 0:
		return errors.New("QUARRY_MAX_EXTRACT_CHARS (max_extract_chars) must be positive")
	case c.MaxInFlight < 0:
		return errors.New("QUARRY_MAX_IN_FLIGHT (max_in_flight) must not be negative")
	case c.MaxMediaInFlight < 0:
		return errors.New("QUARRY_MAX_MEDIA_IN_FLIGHT (max_media_in_flight) must not be negative")
	case c.AccessTokenTTL <= 0 || c.AccessTokenTTL > 24*time.Hour:
		return errors.New("QUARRY_ACCESS_TOKEN_TTL (access_token_ttl) must be between 0 and 24h")
	case c.ShutdownTimeout <= 0:
		return errors.New("QUARRY_SHUTDOWN_TIMEOUT (shutdown_timeout) must be positive")
	case c.OCRConcurrency < 0:
		return errors.New("QUARRY_OCR_CONCURRENCY (ocr_concurrency) must not be negative")
	case c.Workers < 0:
		return errors.New("QUARRY_WORKERS (workers) must not be negative")
	case c.WorkerMemory < isolate.MinMemoryLimit:
		return fmt.Errorf("QUARRY_WORKER_MEMORY (worker_memory) must be at least %d bytes", isolate.MinMemoryLimit)
	case c.WorkerMaxDocs <= 0:
		return errors.New("QUARRY_WORKER_MAX_DOCS (worker_max_docs) must be positive")
	case c.MediaTimeout <= 0:
		return errors.New("QUARRY_MEDIA_TIMEOUT (media_timeout) must be positive")
	case c.MediaMaxDuration <= 0:
		return errors.New("QUARRY_MEDIA_MAX_DURATION (media_max_duration) must be positive")
	}
	switch strings.ToLower(c.Transcriber) {
	case "auto", "pocketsphinx", "off":
	case "whisper":
		if c.WhisperURL == "" {
			return errors.New("QUARRY_WHISPER_URL (whisper_url) is required with QUARRY_TRANSCRIBER=whisper")
		}
	default:
		return fmt.Errorf("QUARRY_TRANSCRIBER (transcriber): want auto, whisper, pocketsphinx or off, got %q", c.Transcriber)
	}
	if c.WhisperURL != "" {
		if u, err := url.Parse(c.WhisperURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("QUARRY_WHISPER_URL (whisper_url): want an http(s) URL, got %q", c.WhisperURL)
		}
	}
	if c.LLMURL != "" && c.LLMModel == "" {
		return errors.New("QUARRY_LLM_MODEL (llm_model) is required with QUARRY_LLM_URL")
	}
	if c.LLMURL != "" {
		if u, err := url.Parse(c.LLMURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("QUARRY_LLM_URL (llm_url): want an http(s) URL, got %q", c.LLMURL)
		}
	}
	switch strings.ToLower(c.Isolation) {
	case "process", "off":
	default:
		return fmt.Errorf("QUARRY_ISOLATION (isolation): want process or off, got %q", c.Isolation)
	}
	switch strings.ToLower(c.OCR) {
	case "auto", "tesseract", "off":
	default:
		return fmt.Errorf("QUARRY_OCR (ocr): want auto, tesseract or off, got %q", c.OCR)
	}
	if _, err := c.ocrLanguages(); err != nil {
		return err
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("QUARRY_LOG_LEVEL (log_level): want debug, info, warn or error, got %q", c.LogLevel)
	}
	switch strings.ToLower(c.LogFormat) {
	case "json", "text":
	default:
		return fmt.Errorf("QUARRY_LOG_FORMAT (log_format): want json or text, got %q", c.LogFormat)
	}
	if _, err := c.databasePath(); err != nil {
		return err
	}
	if _, err := c.blobDir(); err != nil {
		return err
	}
	if _, err := c.allowCIDRs(); err != nil {
		return err
	}
	if _, err := c.allowPorts(); err != nil {
		return err
	}
	if _, _, err := server.ParseRateLimit(c.RateLimit); err != nil {
		return fmt.Errorf("QUARRY_RATE_LIMIT (rate_limit): %w", err)
	}
	if _, err := c.redisOptions(); err != nil {
		return err
	}
	if _, err := c.trustedProxies(); err != nil {
		return err
	}
	return nil
}

// redisOptions parses QUARRY_REDIS_URL: nil when it is empty. Timeouts the
// URL does not set are short, since a rate limit check waits for Redis: a
// second to connect, half a second to answer, one connection attempt and
// one retry (the server limits in memory while Redis does not answer).
// Errors never repeat the URL, which may hold a password.
func (c Config) redisOptions() (*redis.Options, error) {
	if c.RedisURL == "" {
		return nil, nil
	}
	u, err := url.Parse(c.RedisURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, errors.New("QUARRY_REDIS_URL (redis_url): want redis://[user:password@]host:port[/db] or rediss://host:port")
	}
	opt, err := redis.ParseURL(c.RedisURL)
	if err != nil {
		return nil, errors.New("QUARRY_REDIS_URL (redis_url): not a Redis URL (redis://[user:password@]host:port[/db][?dial_timeout=1s...])")
	}
	if opt.DialTimeout == 0 {
		opt.DialTimeout = time.Second
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = 500 * time.Millisecond
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = 500 * time.Millisecond
	}
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 1
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = 1
	}
	opt.ContextTimeoutEnabled = true
	return opt, nil
}

// trustedProxies parses QUARRY_TRUSTED_PROXIES: CIDRs or single addresses,
// comma-separated.
func (c Config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(c.TrustedProxies, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("QUARRY_TRUSTED_PROXIES (trusted_proxies): %q is not an address or CIDR", part)
		}
		a = a.Unmap().WithZone("")
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// databasePath resolves QUARRY_DATABASE_URL to a SQLite file path.
func (c Config) databasePath() (string, error) {
	u := c.DatabaseURL
	switch {
	case u == "":
		return filepath.Join(c.DataDir, "quarry.db"), nil
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		return "", errors.New("QUARRY_DATABASE_URL (database_url): PostgreSQL is not supported by this release yet; use a SQLite path")
	case strings.HasPrefix(u, "sqlite://"):
		return strings.TrimPrefix(u, "sqlite://"), nil
	case strings.HasPrefix(u, "file:"):
		return strings.TrimPrefix(strings.TrimPrefix(u, "file:"), "//"), nil
	case strings.Contains(u, "://"):
		return "", fmt.Errorf("QUARRY_DATABASE_URL (database_url): unsupported scheme in %q", u)
	}
	return u, nil
}

// blobDir resolves QUARRY_BLOB_URL to a directory.
func (c Config) blobDir() (string, error) {
	u := c.BlobURL
	switch {
	case u == "":
		return filepath.Join(c.DataDir, "blobs"), nil
	case strings.HasPrefix(u, "file://"):
		return strings.TrimPrefix(u, "file://"), nil
	case strings.Contains(u, "://"):
		return "", fmt.Errorf("QUARRY_BLOB_URL (blob_url): only file:// is supported, got %q", u)
	}
	return u, nil
}

func (c Config) allowCIDRs() ([]netip.Prefix, error) {
	p, err := urlfetch.ParseAllowCIDRs(c.FetchAllowCIDRs)
	if err != nil {
		return nil, fmt.Errorf("QUARRY_FETCH_ALLOW_CIDRS (fetch_allow_cidrs): %w", err)
	}
	return p, nil
}

func (c Config) allowPorts() ([]int, error) {
	var ports []int
	for part := range strings.SplitSeq(c.FetchAllowPorts, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("QUARRY_FETCH_ALLOW_PORTS (fetch_allow_ports): %q is not a port", part)
		}
		ports = append(ports, n)
	}
	if len(ports) == 0 {
		return nil, errors.New("QUARRY_FETCH_ALLOW_PORTS (fetch_allow_ports): at least one port is needed")
	}
	return ports, nil
}

// ocrLanguages splits QUARRY_OCR_LANGUAGES ("eng+deu" or "eng,deu") into
// tesseract model names.
func (c Config) ocrLanguages() ([]string, error) {
	var langs []string
	for part := range strings.FieldsFuncSeq(c.OCRLanguages, func(r rune) bool { return r == '+' || r == ',' || r == ' ' }) {
		valid := len(part) <= 32
		for _, r := range part {
			valid = valid && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
		}
		if !valid {
			return nil, fmt.Errorf("QUARRY_OCR_LANGUAGES (ocr_languages): %q is not a tesseract language name such as eng or chi_sim", part)
		}
		langs = append(langs, part)
	}
	if len(langs) == 0 {
		return nil, errors.New("QUARRY_OCR_LANGUAGES (ocr_languages): at least one language is needed, such as eng")
	}
	return langs, nil
}
