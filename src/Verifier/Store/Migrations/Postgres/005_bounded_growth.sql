-- Retention prunes by age: history by when it was checked, deleted manifests by when they went.
CREATE INDEX ix_verdict_history_checked ON verdict_history (checked_ms);
CREATE INDEX ix_manifests_deleted ON manifests (deleted_ms) WHERE deleted_ms IS NOT NULL;
-- Pages of /v1/broken and the scrape's counts read only the few broken or stale live manifests.
CREATE INDEX ix_manifests_broken ON manifests (repository, digest) WHERE deleted_ms IS NULL AND result = 'broken';
CREATE INDEX ix_manifests_stale ON manifests (stale_since_ms) WHERE stale_since_ms IS NOT NULL AND deleted_ms IS NULL;
-- Replay by repository reads one repository's events in time order.
CREATE INDEX ix_processed_events_repository ON processed_events (repository, occurred_ms);
