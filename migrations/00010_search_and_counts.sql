-- +goose Up
-- Dashboard search by index, and status counts without counting.
--
-- Search: every version keeps one search document, its role name,
-- requester and justification and its scopes as bucket/prefix, one per
-- line, written with the version (versions never change). A trigram index (pg_trgm)
-- over it serves the case-insensitive substring match (ILIKE '%text%') the
-- dashboard has always done, so `etl` still finds `etl-reader`; a full-text
-- index would only find whole words and word prefixes.
--
-- pg_trgm is a contrib module shipped with PostgreSQL (Debian and Ubuntu's
-- postgresql package, the postgres Docker images; postgresql-contrib in
-- RPM distributions). It is a trusted extension: the database's owner may
-- create it.
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        RAISE EXCEPTION 'rolegate needs the PostgreSQL extension pg_trgm, which this server does not have'
            USING HINT = 'Install the server''s contrib modules (the postgresql-contrib package on RPM distributions; Debian''s postgresql package and the postgres Docker images include them), then migrate again.';
    END IF;
END
$$;
-- +goose StatementEnd
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The one definition of a search document: the store writes versions
-- with it, and the back-fill below uses it.
CREATE FUNCTION request_search_doc(role_name text, requester text, justification text,
                                   buckets text[], prefixes text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN concat_ws(E'\n', role_name, requester, justification,
                     (SELECT string_agg(s.bucket || '/' || s.prefix, E'\n' ORDER BY s.n)
                      FROM unnest(buckets, prefixes) WITH ORDINALITY AS s(bucket, prefix, n)));

ALTER TABLE request_versions ADD COLUMN search_doc text;
UPDATE request_versions v
SET search_doc = request_search_doc(r.role_name, r.requester, v.justification,
        coalesce((SELECT array_agg(s.bucket ORDER BY s.position) FROM request_scopes s
                  WHERE s.request_id = v.request_id AND s.version = v.version), '{}'),
        coalesce((SELECT array_agg(s.prefix ORDER BY s.position) FROM request_scopes s
                  WHERE s.request_id = v.request_id AND s.version = v.version), '{}'))
FROM requests r WHERE r.id = v.request_id;
ALTER TABLE request_versions ALTER COLUMN search_doc SET NOT NULL;
CREATE INDEX request_versions_search ON request_versions USING gin (search_doc gin_trgm_ops);

-- Counts per status: counting a million rows takes most of a second, so
-- every statement that changes requests.status adds rows of deltas here
-- (inserts only: writers never wait on each other) and a reader sums them;
-- the store folds the rows into one per status now and then. (A trigger
-- with transition tables cannot name columns: an UPDATE that leaves every
-- status as it was adds nothing.)
CREATE TABLE request_status_counts (
    status text NOT NULL,
    n      bigint NOT NULL
);
INSERT INTO request_status_counts (status, n) SELECT status, count(*) FROM requests GROUP BY status;

-- +goose StatementBegin
CREATE FUNCTION request_status_counts_track() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO request_status_counts (status, n)
        SELECT status, count(*) FROM new_rows GROUP BY status;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO request_status_counts (status, n)
        SELECT status, -count(*) FROM old_rows GROUP BY status;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO request_status_counts (status, n)
        SELECT status, sum(d) FROM (
            SELECT status, 1 AS d FROM new_rows
            UNION ALL
            SELECT status, -1 FROM old_rows) c
        GROUP BY status HAVING sum(d) <> 0;
    ELSE -- TRUNCATE
        DELETE FROM request_status_counts;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER request_status_counts_insert AFTER INSERT ON requests
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION request_status_counts_track();
CREATE TRIGGER request_status_counts_update AFTER UPDATE ON requests
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION request_status_counts_track();
CREATE TRIGGER request_status_counts_delete AFTER DELETE ON requests
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION request_status_counts_track();
CREATE TRIGGER request_status_counts_truncate AFTER TRUNCATE ON requests
    FOR EACH STATEMENT EXECUTE FUNCTION request_status_counts_track();

-- +goose Down
DROP TRIGGER request_status_counts_truncate ON requests;
DROP TRIGGER request_status_counts_delete ON requests;
DROP TRIGGER request_status_counts_update ON requests;
DROP TRIGGER request_status_counts_insert ON requests;
DROP FUNCTION request_status_counts_track();
DROP TABLE request_status_counts;
DROP INDEX request_versions_search;
ALTER TABLE request_versions DROP COLUMN search_doc;
DROP FUNCTION request_search_doc(text, text, text, text[], text[]);
-- pg_trgm stays: other objects of the database may use it.
