-- +goose Up
-- Which scopes are live in IAM, kept beside them. The shared-bucket risk
-- flag counts, for the buckets of a dashboard page, the live roles
-- reaching each. Read through requests, that count visited every live
-- role (or every request: a sequential scan, about 100 ms a page at a
-- million requests). Each scope row now says whether it is a scope of
-- its request's live version while that role is in IAM (the store's
-- inIAMSQL), and a partial index holds only those rows, by bucket: the
-- count reads the live scopes of the page's buckets and nothing else.
--
-- Triggers keep the flag: a request whose status or live version changes
-- moves the flag from its old live scopes to its new ones, and a scope
-- stored for a version already live (only seeds and restores do that)
-- starts flagged.
CREATE FUNCTION request_in_iam(status text, live_version integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN live_version IS NOT NULL
       AND status IN ('active', 'pending', 'approved', 'provisioning', 'failed', 'revoking');

ALTER TABLE request_scopes ADD COLUMN in_iam boolean NOT NULL DEFAULT false;
UPDATE request_scopes s SET in_iam = true
FROM requests r
WHERE r.id = s.request_id AND s.version = r.live_version AND request_in_iam(r.status, r.live_version);
CREATE INDEX request_scopes_in_iam ON request_scopes (bucket, request_id) WHERE in_iam;

-- +goose StatementBegin
CREATE FUNCTION request_scopes_follow_request() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF request_in_iam(OLD.status, OLD.live_version) THEN
        UPDATE request_scopes SET in_iam = false
        WHERE request_id = OLD.id AND version = OLD.live_version AND in_iam;
    END IF;
    IF request_in_iam(NEW.status, NEW.live_version) THEN
        UPDATE request_scopes SET in_iam = true
        WHERE request_id = NEW.id AND version = NEW.live_version AND NOT in_iam;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER request_scopes_follow_request AFTER UPDATE OF status, live_version ON requests
    FOR EACH ROW
    WHEN (request_in_iam(OLD.status, OLD.live_version) IS DISTINCT FROM request_in_iam(NEW.status, NEW.live_version)
          OR OLD.live_version IS DISTINCT FROM NEW.live_version)
    EXECUTE FUNCTION request_scopes_follow_request();

-- +goose StatementBegin
CREATE FUNCTION request_scopes_start_flag() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.in_iam := EXISTS (SELECT 1 FROM requests r
                          WHERE r.id = NEW.request_id AND r.live_version = NEW.version
                            AND request_in_iam(r.status, r.live_version));
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER request_scopes_start_flag BEFORE INSERT ON request_scopes
    FOR EACH ROW EXECUTE FUNCTION request_scopes_start_flag();

-- +goose Down
DROP TRIGGER request_scopes_start_flag ON request_scopes;
DROP FUNCTION request_scopes_start_flag();
DROP TRIGGER request_scopes_follow_request ON requests;
DROP FUNCTION request_scopes_follow_request();
DROP INDEX request_scopes_in_iam;
ALTER TABLE request_scopes DROP COLUMN in_iam;
DROP FUNCTION request_in_iam(text, integer);
