-- Identity: tenants, users, refresh-token families and refresh tokens.
-- Portable SQL like 0001 (SQLite and PostgreSQL): TEXT ids, RFC 3339 UTC
-- TEXT times (storage.Timestamp), BOOLEAN written from Go bools.
CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- The one tenant of an installation without enforced tenancy. Its
-- creation time is not known to portable SQL; the epoch stands for "at
-- install".
INSERT INTO tenants (id, name, created_at) VALUES ('default', 'Default', '1970-01-01T00:00:00.000000Z');

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    email              TEXT NOT NULL,
    -- argon2id in PHC format: $argon2id$v=19$m=...,t=...,p=...$salt$hash
    password_hash      TEXT NOT NULL,
    role               TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
    disabled           BOOLEAN NOT NULL DEFAULT FALSE,
    -- Access tokens issued before this time are refused (revoke, disable,
    -- password change).
    tokens_valid_after TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    UNIQUE (tenant_id, email)
);

-- Login without a tenant looks the email up across tenants.
CREATE INDEX users_email_idx ON users (email);

-- A login session: every refresh token descended from one login. Reuse of
-- a rotated token revokes the whole family.
CREATE TABLE refresh_families (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants (id),
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at          TEXT NOT NULL,
    absolute_expires_at TEXT NOT NULL,
    revoked_at          TEXT,
    revoke_reason       TEXT
);

CREATE INDEX refresh_families_user_id_idx ON refresh_families (user_id);
CREATE INDEX refresh_families_expires_idx ON refresh_families (absolute_expires_at);

-- Refresh tokens, stored only as the hex SHA-256 of the token string.
-- used_at is set when the token is rotated (replaced_by is its successor's
-- hash); presenting it again is reuse.
CREATE TABLE refresh_tokens (
    hash        TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    replaced_by TEXT
);

CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
