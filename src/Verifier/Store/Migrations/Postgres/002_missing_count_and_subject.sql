-- Counting missing objects no longer parses every broken manifest's JSON at each scrape.
ALTER TABLE manifests ADD COLUMN missing_count INTEGER NOT NULL DEFAULT 0;
UPDATE manifests SET missing_count = json_array_length(missing_json::json) WHERE missing_json IS NOT NULL AND missing_json <> '';
-- An artifact's `subject`: the manifest it is about, a back-reference rather than a child.
ALTER TABLE manifests ADD COLUMN subject_digest TEXT;
CREATE INDEX ix_manifests_subject ON manifests (repository, subject_digest);
