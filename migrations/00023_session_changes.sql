-- +goose Up
-- A server remembers the sessions it has read while a connection of its
-- own listens on channel rolegate_sessions (store.DB.WatchSessions). Every
-- change to a session row (signing out, an admin ending a user's sessions,
-- narrowing at a new sign-in, expired rows cleared, any statement run by
-- hand) names the session there when it commits, so each server forgets
-- it before its next request; a TRUNCATE names them all ('*').
-- +goose StatementBegin
CREATE FUNCTION web_sessions_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('rolegate_sessions', '*');
    ELSE
        PERFORM pg_notify('rolegate_sessions', encode(OLD.id_sha256, 'hex'));
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER web_sessions_changed
    AFTER UPDATE OR DELETE ON web_sessions
    FOR EACH ROW EXECUTE FUNCTION web_sessions_changed();
CREATE TRIGGER web_sessions_truncated
    AFTER TRUNCATE ON web_sessions
    FOR EACH STATEMENT EXECUTE FUNCTION web_sessions_changed();

-- +goose Down
DROP TRIGGER web_sessions_truncated ON web_sessions;
DROP TRIGGER web_sessions_changed ON web_sessions;
DROP FUNCTION web_sessions_changed();
