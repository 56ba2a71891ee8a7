-- The last state each storage watcher reported (RegistryStorageWatcherStatus), one row per watcher id: whether
-- removals on the registry's storage are being heard, by whom and since when (GET /v1/status, storageWatchers).
-- sent_ms is the watcher's send time capped at the Verifier's clock: the newest message wins, and a watcher
-- not heard for 3 x interval_ms is silent. Never read by a verdict.
CREATE TABLE registry_storage_watchers (
    watcher        TEXT PRIMARY KEY,
    state          TEXT NOT NULL,
    reason         TEXT,
    since_ms       BIGINT NOT NULL,
    sent_ms        BIGINT NOT NULL,
    interval_ms    BIGINT NOT NULL
);
