-- +goose Up
-- Many AWS accounts: every request names the account its role lives in
-- (the accounts file's names). Requests stored before accounts existed
-- live in the credentials' own account, named "default". The name is
-- stored explicitly and never defaulted by the database: a changed
-- default account never moves a live role.
ALTER TABLE requests ADD COLUMN account text NOT NULL DEFAULT 'default'
    CHECK (account ~ '^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$');
ALTER TABLE requests ALTER COLUMN account DROP DEFAULT;

-- IAM role names are unique per account: the same name may live in two.
DROP INDEX requests_live_role_name;
CREATE UNIQUE INDEX requests_live_role_name ON requests (account, lower(role_name))
    WHERE status NOT IN ('rejected', 'cancelled', 'revoked', 'expired');
CREATE INDEX requests_account_id ON requests (account, id);

-- The search document names the account on a line of its own, first, so
-- free-text search finds a request by its account.
DROP FUNCTION request_search_doc(text, text, text, text[], text[]);
CREATE FUNCTION request_search_doc(account text, role_name text, requester text, justification text,
                                   buckets text[], prefixes text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN concat_ws(E'\n', account, role_name, requester, justification,
                     (SELECT string_agg(s.bucket || '/' || s.prefix, E'\n' ORDER BY s.n)
                      FROM unnest(buckets, prefixes) WITH ORDINALITY AS s(bucket, prefix, n)));
UPDATE request_versions SET search_doc = 'default' || E'\n' || search_doc;

-- +goose Down
-- Going down fails while one role name lives in two accounts: the older
-- schema cannot hold that.
UPDATE request_versions SET search_doc = substr(search_doc, strpos(search_doc, E'\n') + 1);
DROP FUNCTION request_search_doc(text, text, text, text, text[], text[]);
CREATE FUNCTION request_search_doc(role_name text, requester text, justification text,
                                   buckets text[], prefixes text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN concat_ws(E'\n', role_name, requester, justification,
                     (SELECT string_agg(s.bucket || '/' || s.prefix, E'\n' ORDER BY s.n)
                      FROM unnest(buckets, prefixes) WITH ORDINALITY AS s(bucket, prefix, n)));
DROP INDEX requests_account_id;
DROP INDEX requests_live_role_name;
CREATE UNIQUE INDEX requests_live_role_name ON requests (lower(role_name))
    WHERE status NOT IN ('rejected', 'cancelled', 'revoked', 'expired');
ALTER TABLE requests DROP COLUMN account;
