-- When a tag was last pushed and last deleted, by the registry's event time (a storage removal's time for a tag
-- directory removed on disk). A push event older than the tag's deletion (a redelivered or late event) does not
-- bring the tag back, nor does a tag listing older than the deletion; a deletion older than the tag's last push
-- does not remove it; a push older than the tag's last push does not move it back. Kept for a day, like digest_changes.
CREATE TABLE tag_changes (
    repository TEXT NOT NULL,
    tag        TEXT NOT NULL,
    pushed_ms  BIGINT,
    deleted_ms BIGINT,
    changed_ms BIGINT NOT NULL,
    PRIMARY KEY (repository, tag)
);
CREATE INDEX ix_tag_changes_changed ON tag_changes (changed_ms);

-- The push time of the event that filled in a tag removal's digest (the removal was seen before the push event was
-- processed): a later-processed push that is newer, yet still before the removal, names the digest the tag held.
ALTER TABLE registry_storage_tag_removals ADD COLUMN digest_pushed_ms BIGINT;
