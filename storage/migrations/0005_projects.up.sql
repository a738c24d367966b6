-- Projects: named groups of sources, for batch extraction.
-- Portable SQL like the others (SQLite and PostgreSQL): TEXT ids, RFC 3339
-- UTC TEXT times (storage.Timestamp).
--
-- name_key is the name case-folded (Unicode simple folding after NFC, done
-- in Go by package projects), so that names are unique per tenant whatever
-- their case: "Reports" and "REPORTS" are one name. A plain
-- UNIQUE (tenant_id, name) would be case-sensitive, and lower() folds ASCII
-- only on SQLite. Two equal names have equal keys, so this constraint also
-- keeps (tenant_id, name) unique.
CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (tenant_id, name_key)
);

-- Listing: newest first within a tenant (ids are ULIDs, so id order is
-- creation order).
CREATE INDEX projects_tenant_id_idx ON projects (tenant_id, id);

-- Membership. Deleting a project or a source removes its rows (the
-- sources of a deleted project stay). position numbers a project's sources
-- in the order they were added (1, 2, ...; gaps where sources left), which
-- added_at alone cannot do for the sources of one call.
CREATE TABLE project_sources (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    source_id  TEXT NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    position   BIGINT NOT NULL,
    added_at   TEXT NOT NULL,
    PRIMARY KEY (project_id, source_id)
);

-- The projects of a source (Source.project_ids, the cascade on source
-- delete).
CREATE INDEX project_sources_source_id_idx ON project_sources (source_id);
