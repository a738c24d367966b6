CREATE INDEX sources_blob_key_idx ON sources (blob_key);
CREATE INDEX sources_tenant_id_idx ON sources (tenant_id, id);
CREATE TABLE extractions (source_id TEXT NOT NULL REFERENCES sources (id) ON DELETE CASCADE, mode TEXT NOT NULL, result TEXT NOT NULL, duration_ms BIGINT NOT NULL DEFAULT 0, created_at TEXT NOT NULL, PRIMARY KEY (source_id, mode));
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
CREATE TABLE sources (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL DEFAULT 'default', kind TEXT NOT NULL CHECK (kind IN ('upload', 'url', 'text')), filename TEXT NOT NULL, media_type TEXT NOT NULL, size_bytes BIGINT NOT NULL, sha256 TEXT NOT NULL, blob_key TEXT NOT NULL, url TEXT, status TEXT NOT NULL CHECK (status IN ('stored', 'extracted', 'failed')), metadata TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
