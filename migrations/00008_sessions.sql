-- +goose Up
-- Browser sessions, kept on the server so that signing out (or an admin
-- ending a user's sessions) takes effect everywhere at once. The sealed
-- session cookie holds a random session ID; only its SHA-256 is stored.
-- A row that exists and has not expired is a live session: signing out
-- deletes it. Expired rows are deleted a few at a time as new sessions
-- start.
CREATE TABLE web_sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id_sha256    bytea       NOT NULL UNIQUE CHECK (length(id_sha256) = 32),
    user_name    text        NOT NULL CHECK (length(user_name) >= 1),
    roles        text[]      NOT NULL DEFAULT '{}'
        CHECK (roles <@ ARRAY['requester', 'approver', 'admin']::text[]),
    groups       text[]      NOT NULL DEFAULT '{}',
    -- When the user last proved who they are: the sign-in, or the
    -- identity provider's auth_time. Creating admin tokens asks for a
    -- recent one.
    signed_in_at timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    CHECK (expires_at > created_at),
    CHECK (signed_in_at <= created_at)
);
CREATE INDEX web_sessions_user ON web_sessions (user_name, id);
CREATE INDEX web_sessions_expires ON web_sessions (expires_at);

-- +goose Down
DROP TABLE web_sessions;
