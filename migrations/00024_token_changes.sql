-- +goose Up
-- A server holds an API token it checked for a second (web/api's token
-- cache). Every change that matters to a check (revoked, narrowed, its
-- expiry or owner changed, deleted) names the token on channel
-- rolegate_tokens when it commits, so a server whose session watcher
-- listens forgets it at once instead of within that second; recording a
-- token's last use names nothing. A TRUNCATE names them all ('*').
-- +goose StatementBegin
CREATE FUNCTION api_tokens_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('rolegate_tokens', '*');
    ELSE
        PERFORM pg_notify('rolegate_tokens', OLD.id::text);
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER api_tokens_changed
    AFTER UPDATE ON api_tokens
    FOR EACH ROW
    WHEN ((OLD.user_name, OLD.roles, OLD.groups, OLD.secret_sha256, OLD.expires_at, OLD.revoked_at)
          IS DISTINCT FROM (NEW.user_name, NEW.roles, NEW.groups, NEW.secret_sha256, NEW.expires_at, NEW.revoked_at))
    EXECUTE FUNCTION api_tokens_changed();
CREATE TRIGGER api_tokens_deleted
    AFTER DELETE ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION api_tokens_changed();
CREATE TRIGGER api_tokens_truncated
    AFTER TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION api_tokens_changed();

-- +goose Down
DROP TRIGGER api_tokens_truncated ON api_tokens;
DROP TRIGGER api_tokens_deleted ON api_tokens;
DROP TRIGGER api_tokens_changed ON api_tokens;
DROP FUNCTION api_tokens_changed();
