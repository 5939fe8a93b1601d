-- +goose Up
-- The API: bearer tokens for automation and the idempotency keys of its
-- creating POSTs.

-- A token is shown once, as rgt_<id>_<secret>; only the SHA-256 of the
-- secret is kept. The roles and groups are the user's when it was made.
CREATE TABLE api_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_name     text        NOT NULL CHECK (length(user_name) BETWEEN 1 AND 256),
    roles         text[]      NOT NULL DEFAULT '{requester}'
        CHECK (roles <@ ARRAY['requester', 'approver', 'admin']::text[]),
    groups        text[]      NOT NULL DEFAULT '{}' CHECK (cardinality(groups) <= 100),
    description   text        NOT NULL DEFAULT '' CHECK (length(description) <= 200),
    secret_sha256 bytea       NOT NULL UNIQUE CHECK (length(secret_sha256) = 32),
    created_by    text        NOT NULL CHECK (length(created_by) BETWEEN 1 AND 256),
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    last_used_at  timestamptz,
    revoked_at    timestamptz,
    CHECK (expires_at IS NULL OR expires_at > created_at),
    CHECK (revoked_at IS NULL OR revoked_at >= created_at),
    CHECK (last_used_at IS NULL OR last_used_at >= created_at)
);
CREATE INDEX api_tokens_user ON api_tokens (user_name, id);

-- One row per (user, Idempotency-Key): claimed before the POST runs (no
-- status yet), completed with the response it gave. Rows are kept at least
-- 24 hours; DeleteExpiredIdempotencyKeys removes older ones.
CREATE TABLE idempotency_keys (
    user_name      text        NOT NULL CHECK (length(user_name) BETWEEN 1 AND 256),
    key            text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    method         text        NOT NULL CHECK (method IN ('POST', 'PUT', 'PATCH', 'DELETE')),
    path           text        NOT NULL CHECK (length(path) BETWEEN 1 AND 1024),
    request_sha256 bytea       NOT NULL CHECK (length(request_sha256) = 32),
    status         integer     CHECK (status BETWEEN 100 AND 499),
    headers        jsonb       CHECK (jsonb_typeof(headers) = 'object'),
    body           bytea       CHECK (length(body) <= 1048576),
    created_at     timestamptz NOT NULL DEFAULT now(),
    claimed_at     timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz,
    PRIMARY KEY (user_name, key),
    -- A completed key has its whole response; a claimed one none of it.
    CHECK ((status IS NULL) = (completed_at IS NULL)),
    CHECK ((status IS NULL) = (body IS NULL)),
    CHECK ((status IS NULL) = (headers IS NULL))
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE api_tokens;
