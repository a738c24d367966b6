package idempotency

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/quarryhq/quarry/storage"
)

// Defaults of [Config].
const (
	DefaultTTL        = 24 * time.Hour
	DefaultStaleAfter = 15 * time.Minute
	// MaxKeyLen is the longest key accepted.
	MaxKeyLen = 255
	// MaxResponseBytes is the largest response kept.
	MaxResponseBytes = 1 << 20
)

// Errors of Begin and of the reservation's methods.
var (
	// ErrMismatch: the key was used for another operation or another
	// request (conflict).
	ErrMismatch = errors.New("idempotency: the key was used for another request")
	// ErrInProgress: the first request with the key has not finished.
	ErrInProgress = errors.New("idempotency: a request with this key is in progress")
	// ErrInvalidKey: the key is empty, longer than MaxKeyLen or not
	// printable ASCII.
	ErrInvalidKey = errors.New("idempotency: invalid key")
)

// Config configures a Service.
type Config struct {
	// DB is the migrated database (required).
	DB *storage.DB
	// TTL is how long a completed key answers (default DefaultTTL).
	TTL time.Duration
	// StaleAfter is how long a reservation that was never completed nor
	// released (its process died) blocks its key (default
	// DefaultStaleAfter): longer than any request may run.
	StaleAfter time.Duration
	// Logger (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service stores idempotency keys. It is safe for concurrent use.
type Service struct {
	db         *storage.DB
	ttl, stale time.Duration
	log        *slog.Logger
	now        func() time.Time
}

// New returns a Service. Errors name the Config field at fault.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.DB == nil:
		return nil, errors.New("idempotency: Config.DB is required")
	case cfg.TTL < 0:
		return nil, errors.New("idempotency: Config.TTL must not be negative")
	case cfg.StaleAfter < 0:
		return nil, errors.New("idempotency: Config.StaleAfter must not be negative")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{
		db: cfg.DB, ttl: cmp.Or(cfg.TTL, DefaultTTL), stale: cmp.Or(cfg.StaleAfter, DefaultStaleAfter),
		log: cfg.Logger, now: cfg.Now,
	}, nil
}

// Request identifies a request: who sent it (Scope), with which key, for
// which operation, and its Fingerprint (a digest of what makes the
// request the same request).
type Request struct {
	Scope       string
	Key         string
	Operation   string
	Fingerprint string
}

// Response is a stored response.
type Response struct {
	Status   int
	Location string
	// Body is the response body, as the caller gave it to Complete.
	Body []byte
}

// Reservation is a reserved key: complete it with the response, or
// release it.
type Reservation struct {
	s   *Service
	req Request
	at  string
}

// ValidKey reports whether key can be used: 1 to MaxKeyLen printable
// ASCII characters.
func ValidKey(key string) bool {
	if key == "" || len(key) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return false
		}
	}
	return true
}

// Begin looks the key up. It returns a Reservation when the key is new
// (or expired), the stored Response when req was completed before with
// the same operation and fingerprint, ErrMismatch when the key was used
// for another request, and ErrInProgress while its first request runs.
func (s *Service) Begin(ctx context.Context, req Request) (*Reservation, *Response, error) {
	if !ValidKey(req.Key) {
		return nil, nil, ErrInvalidKey
	}
	now := s.now().UTC()
	var (
		res *Reservation
		out *Response
	)
	err := s.db.InTx(ctx, func(tx *sqlx.Tx) error {
		// Expired keys go first: a key past its TTL is a new key.
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM idempotency_keys WHERE created_at < ?`),
			storage.Timestamp(now.Add(-s.ttl))); err != nil {
			return err
		}
		var row struct {
			Operation   string `db:"operation"`
			Fingerprint string `db:"fingerprint"`
			Status      int    `db:"status"`
			Location    string `db:"location"`
			Response    string `db:"response"`
			CreatedAt   string `db:"created_at"`
		}
		err := tx.GetContext(ctx, &row, tx.Rebind(`SELECT operation, fingerprint, status, location, response, created_at
			FROM idempotency_keys WHERE scope = ? AND idem_key = ?`), req.Scope, req.Key)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case row.Operation != req.Operation || row.Fingerprint != req.Fingerprint:
			return ErrMismatch
		case row.Status != 0:
			out = &Response{Status: row.Status, Location: row.Location, Body: []byte(row.Response)}
			return nil
		default:
			created, perr := storage.ParseTimestamp(row.CreatedAt)
			if perr == nil && now.Sub(created) < s.stale {
				return ErrInProgress
			}
			// A reservation its process never finished: take it over.
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ?`), req.Scope, req.Key); err != nil {
				return err
			}
		}
		at := storage.Timestamp(now)
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO idempotency_keys (scope, idem_key, operation, fingerprint, created_at)
			VALUES (?, ?, ?, ?, ?)`), req.Scope, req.Key, req.Operation, req.Fingerprint, at); err != nil {
			return err
		}
		res = &Reservation{s: s, req: req, at: at}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrMismatch) || errors.Is(err, ErrInProgress) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("idempotency: begin: %w", err)
	}
	return res, out, nil
}

// Complete keeps resp as the answer to the reserved key. A body over
// MaxResponseBytes is not kept: the key is released instead.
func (r *Reservation) Complete(ctx context.Context, resp Response) error {
	if len(resp.Body) > MaxResponseBytes || resp.Status == 0 {
		return r.Release(ctx)
	}
	_, err := r.s.db.Write.ExecContext(ctx, r.s.db.Write.Rebind(`UPDATE idempotency_keys SET status = ?, location = ?, response = ?
		WHERE scope = ? AND idem_key = ? AND created_at = ?`), resp.Status, resp.Location, string(resp.Body), r.req.Scope, r.req.Key, r.at)
	if err != nil {
		return fmt.Errorf("idempotency: complete: %w", err)
	}
	return nil
}

// Release forgets the reserved key, so that the request may be retried
// with it.
func (r *Reservation) Release(ctx context.Context) error {
	_, err := r.s.db.Write.ExecContext(ctx, r.s.db.Write.Rebind(`DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ? AND created_at = ? AND status = 0`),
		r.req.Scope, r.req.Key, r.at)
	if err != nil {
		return fmt.Errorf("idempotency: release: %w", err)
	}
	return nil
}
