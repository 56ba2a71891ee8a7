-- Whether each repository's tag listing last answered 404 (NAME_UNKNOWN: no _manifests/tags directory, e.g. a
-- repository only ever pushed by digest). distribution 2.8's `garbage-collect -m` fails as a whole on such a
-- repository, and 3.x neither marks nor deletes its revisions: the GC forecast needs to know.
CREATE TABLE tag_directories (
    repository     TEXT PRIMARY KEY,
    tags_missing   INTEGER NOT NULL,
    listed_ms      BIGINT NOT NULL
);
