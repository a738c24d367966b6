-- Audit events and feature flags.
-- Portable SQL: it runs on SQLite and PostgreSQL alike. Ids are TEXT,
-- times are RFC 3339 UTC TEXT, JSON is TEXT.

-- Audit events: append-only (package audit has no update or delete).
-- tenant_id is '' for events that belong to no tenant (system events).
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL DEFAULT '',
    actor_id    TEXT NOT NULL DEFAULT '',
    actor_type  TEXT NOT NULL CHECK (actor_type IN ('user', 'anonymous', 'system')),
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL DEFAULT '',
    target_id   TEXT NOT NULL DEFAULT '',
    result      TEXT NOT NULL CHECK (result IN ('success', 'failure', 'denied')),
    request_id  TEXT NOT NULL DEFAULT '',
    remote_addr TEXT NOT NULL DEFAULT '',
    details     TEXT NOT NULL DEFAULT '{}',
    created_at  TEXT NOT NULL
);

-- Listing: newest first within a tenant (ids are ULIDs, so id order is
-- recording order), optionally filtered by action or by actor.
CREATE INDEX audit_events_tenant_id_idx ON audit_events (tenant_id, id);
CREATE INDEX audit_events_tenant_action_idx ON audit_events (tenant_id, action, id);
CREATE INDEX audit_events_tenant_actor_idx ON audit_events (tenant_id, actor_id, id);

-- Feature flag overrides. A flag without a row takes its built-in default;
-- a global row overrides the default, a tenant row overrides both for its
-- tenant. tenant_id is '' for global rows, so that the primary key works
-- alike on both databases (NULLs are distinct in a key).
CREATE TABLE feature_flags (
    key        TEXT NOT NULL,
    scope      TEXT NOT NULL CHECK (scope IN ('global', 'tenant')),
    tenant_id  TEXT NOT NULL DEFAULT '',
    enabled    BOOLEAN NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (key, scope, tenant_id),
    CHECK ((scope = 'global' AND tenant_id = '') OR (scope = 'tenant' AND tenant_id <> ''))
);
