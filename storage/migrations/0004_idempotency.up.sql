-- Idempotency keys (CONTRACT.md section 5): the first successful response
-- to a request that carried an Idempotency-Key, replayed when the same
-- caller sends the same key with the same request within 24 hours.
-- Portable SQL: it runs on SQLite and PostgreSQL alike.
--
-- scope is the caller: the tenant and the user id ('' for anonymous
-- callers), so that one caller's key never answers another's request.
-- fingerprint is the SHA-256 of what makes the request (for an upload:
-- its file's content, name and project; for a download: its URL and
-- project). status is 0 while the first request is in progress.
CREATE TABLE idempotency_keys (
    scope       TEXT NOT NULL,
    idem_key    TEXT NOT NULL,
    operation   TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL DEFAULT 0,
    location    TEXT NOT NULL DEFAULT '',
    response    TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

-- Expired keys are removed by age.
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
