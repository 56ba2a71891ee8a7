-- Tags whose directory was removed from the registry's storage (seen by the storage watcher): a cleanup script at
-- work. Alone they break nothing; the GC forecast reads them. The digest is the one the tag last resolved to, when known.
CREATE TABLE registry_storage_tag_removals (
    repository  TEXT NOT NULL,
    tag         TEXT NOT NULL,
    digest      TEXT,
    removed_ms  BIGINT NOT NULL,
    recorded_ms BIGINT NOT NULL,
    PRIMARY KEY (repository, tag, removed_ms)
);
CREATE INDEX ix_registry_storage_tag_removals_removed ON registry_storage_tag_removals (removed_ms);

-- A removed blob is gone from every repository: its holders are found by digest alone.
CREATE INDEX ix_manifest_references_child_digest ON manifest_references (child_digest);
CREATE INDEX ix_manifests_digest ON manifests (digest);
