CREATE TABLE sweeps (
    id                  TEXT PRIMARY KEY,
    trigger_name        TEXT NOT NULL,
    started_ms          BIGINT NOT NULL,
    enumerated_ms       BIGINT,
    completed_ms        BIGINT,
    repositories_total  BIGINT,
    repositories_done   BIGINT NOT NULL DEFAULT 0,
    manifests_checked   BIGINT NOT NULL DEFAULT 0,
    tags_seen           BIGINT NOT NULL DEFAULT 0,
    catalog_error       TEXT
);
CREATE INDEX ix_sweeps_started ON sweeps (started_ms);

CREATE TABLE registry_instances (
    instance_id   TEXT PRIMARY KEY,
    first_seen_ms BIGINT NOT NULL
);

-- When each repository's tags were last listed: overlapping sweeps reconcile last-listing-wins.
CREATE TABLE tag_listings (
    repository TEXT PRIMARY KEY,
    listed_ms  BIGINT NOT NULL
);
