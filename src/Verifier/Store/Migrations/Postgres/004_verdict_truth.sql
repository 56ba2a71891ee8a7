-- A verdict is the last determinate one (healthy or broken): a walk that could not reach a verdict
-- is recorded beside it as the last attempt, and marks the verdict stale, instead of replacing it.
ALTER TABLE manifests ADD COLUMN attempt_ms BIGINT;
ALTER TABLE manifests ADD COLUMN attempt_result TEXT;
ALTER TABLE manifests ADD COLUMN attempt_reasons_json TEXT;
ALTER TABLE manifests ADD COLUMN stale_since_ms BIGINT;
-- When the registry last showed the manifest present (as a walked root or as a child): a deletion
-- observed earlier cannot hide it, a walk observed before its deletion cannot bring it back.
ALTER TABLE manifests ADD COLUMN seen_ms BIGINT;
UPDATE manifests SET seen_ms = checked_ms WHERE result IS NOT NULL AND result <> 'indeterminate';
UPDATE manifests SET attempt_ms = checked_ms, attempt_result = result, attempt_reasons_json = reasons_json WHERE result IS NOT NULL;

-- Tags the registry lists whose manifest answers 404: `docker pull repo:tag` fails, so they are broken.
-- The digest is the one the tag last resolved to, when known.
CREATE TABLE dangling_tags (
    repository TEXT NOT NULL,
    tag        TEXT NOT NULL,
    digest     TEXT,
    since_ms   BIGINT NOT NULL,
    checked_ms BIGINT NOT NULL,
    PRIMARY KEY (repository, tag)
);

-- When a digest last came (a push or mount event) and went (a delete event): a walk that saw it present
-- before it went, or missing before it came, was overtaken and is walked again rather than stored.
-- A push of a digest that was already there changes nothing a walk saw. Kept for a day.
CREATE TABLE digest_changes (
    repository TEXT NOT NULL,
    digest     TEXT NOT NULL,
    pushed_ms  BIGINT,
    deleted_ms BIGINT,
    changed_ms BIGINT NOT NULL,
    PRIMARY KEY (repository, digest)
);
CREATE INDEX ix_digest_changes_changed ON digest_changes (changed_ms);
