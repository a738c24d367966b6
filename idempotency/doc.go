// Package idempotency stores the first successful response to a request
// that carried an Idempotency-Key, so that a client that retries (after a
// timeout, a dropped connection) gets that response again instead of a
// second upload or download (CONTRACT.md section 5).
//
// A key belongs to a scope (the server uses the tenant and the user) and
// is bound to one operation and one request fingerprint:
//
//   - [Service.Begin] with a new key reserves it and returns a
//     [Reservation]; the caller does the work, then [Reservation.Complete]
//     keeps the response or [Reservation.Release] forgets the key (a failed
//     request may be retried with the same key).
//   - Begin with a key whose request completed returns the stored
//     [Response] when the operation and fingerprint match, and
//     [ErrMismatch] when they do not (409 conflict).
//   - Begin with a key whose first request is still in progress returns
//     [ErrInProgress] (409 conflict), so that two concurrent retries never
//     both run.
//
// Keys live for [Config.TTL] (24 hours by default); expired rows are
// removed as new keys arrive. A reservation that its process never
// completed (a crash) also expires after [Config.StaleAfter].
package idempotency
