CREATE TABLE manifests (
    repository   TEXT NOT NULL,
    digest       TEXT NOT NULL,
    media_type   TEXT,
    first_seen_ms BIGINT NOT NULL,
    deleted_ms   BIGINT,
    result       TEXT,
    checked_ms   BIGINT,
    since_ms     BIGINT,
    missing_json TEXT,
    reasons_json TEXT,
    PRIMARY KEY (repository, digest)
);
CREATE INDEX ix_manifests_result ON manifests (result, deleted_ms);

CREATE TABLE verdict_history (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    repository   TEXT NOT NULL,
    digest       TEXT NOT NULL,
    result       TEXT NOT NULL,
    checked_ms   BIGINT NOT NULL,
    missing_json TEXT,
    reasons_json TEXT,
    event_id     TEXT
);
CREATE INDEX ix_verdict_history_manifest ON verdict_history (repository, digest, checked_ms);

CREATE TABLE manifest_references (
    repository    TEXT NOT NULL,
    parent_digest TEXT NOT NULL,
    child_digest  TEXT NOT NULL,
    kind          TEXT NOT NULL,
    PRIMARY KEY (repository, parent_digest, child_digest)
);
CREATE INDEX ix_manifest_references_child ON manifest_references (repository, child_digest);

CREATE TABLE tags (
    repository TEXT NOT NULL,
    tag        TEXT NOT NULL,
    digest     TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    PRIMARY KEY (repository, tag)
);
CREATE INDEX ix_tags_digest ON tags (repository, digest);

CREATE TABLE processed_events (
    event_id           TEXT PRIMARY KEY,
    message_type       TEXT NOT NULL,
    repository         TEXT NOT NULL,
    occurred_ms        BIGINT NOT NULL,
    processed_ms       BIGINT NOT NULL,
    source_instance_id TEXT,
    payload            TEXT NOT NULL
);
CREATE INDEX ix_processed_events_occurred ON processed_events (occurred_ms);
