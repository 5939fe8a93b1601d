-- +goose Up
-- The approval workflow: the version that is live in IAM, the stored
-- Terraform of each provisioned version, drift state, and a tamper-evident
-- hash chain over the audit trail.

ALTER TABLE requests
    ADD COLUMN live_version  integer CHECK (live_version >= 1 AND live_version <= version),
    ADD COLUMN drifted       boolean NOT NULL DEFAULT false,
    ADD COLUMN final_status  text CHECK (final_status IN ('revoked', 'expired')),
    ADD COLUMN reminded_at   timestamptz;
ALTER TABLE requests ADD CONSTRAINT requests_revoking_has_final
    CHECK (status <> 'revoking' OR final_status IS NOT NULL);
CREATE INDEX requests_active_expiry ON requests (expires_at) WHERE status = 'active' AND expires_at IS NOT NULL;
CREATE INDEX requests_updated ON requests (updated_at, id);

ALTER TABLE request_versions
    ADD COLUMN requested_ttl_seconds bigint CHECK (requested_ttl_seconds > 0),
    ADD COLUMN approved_ttl_seconds  bigint CHECK (approved_ttl_seconds > 0),
    ADD COLUMN approved_at           timestamptz,
    ADD COLUMN terraform             text,
    ADD COLUMN terraform_sha256      text CHECK (terraform_sha256 ~ '^[0-9a-f]{64}$'),
    ADD CONSTRAINT request_versions_terraform_pair
        CHECK ((terraform IS NULL) = (terraform_sha256 IS NULL));

-- The groups an approver belonged to when deciding: approval routing counts
-- them, and later group changes do not rewrite history.
ALTER TABLE decisions ADD COLUMN approver_groups text[] NOT NULL DEFAULT '{}';

-- Terraform of a provisioned version never changes once stored.
-- +goose StatementBegin
CREATE FUNCTION request_versions_terraform_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.terraform IS NOT NULL AND NEW.terraform IS DISTINCT FROM OLD.terraform THEN
        RAISE EXCEPTION 'the Terraform of request % version % is immutable', OLD.request_id, OLD.version
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER request_versions_terraform_immutable
    BEFORE UPDATE ON request_versions
    FOR EACH ROW EXECUTE FUNCTION request_versions_terraform_immutable();

-- The audit chain: each event carries the SHA-256 of its content and of the
-- previous event's hash. The trigger computes both, serialising appends
-- with a transaction-scoped advisory lock so the chain never forks.
ALTER TABLE audit_events
    ADD COLUMN prev_hash bytea,
    ADD COLUMN hash      bytea;

-- +goose StatementBegin
CREATE FUNCTION audit_event_digest(prev bytea, request_id bigint, version integer, actor text,
                                   kind text, data jsonb, created_at timestamptz) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(prev || convert_to(
        concat_ws(E'\x1f', coalesce(request_id::text, ''), coalesce(version::text, ''), actor, kind,
                  data::text, (extract(epoch FROM created_at) * 1000000)::bigint::text),
        'UTF8'))
$$;

CREATE FUNCTION audit_events_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7236837376377378); -- "audit chain"
    SELECT hash INTO NEW.prev_hash FROM audit_events ORDER BY id DESC LIMIT 1;
    NEW.prev_hash := coalesce(NEW.prev_hash, '\x'::bytea);
    NEW.hash := audit_event_digest(NEW.prev_hash, NEW.request_id, NEW.version, NEW.actor, NEW.kind,
                                   NEW.data, NEW.created_at);
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- Chain what exists already, in id order (the trigger refusing UPDATE is
-- lifted for this one statement).
ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
-- +goose StatementBegin
DO $$
DECLARE
    r record;
    prev bytea := '\x'::bytea;
BEGIN
    FOR r IN SELECT * FROM audit_events ORDER BY id LOOP
        UPDATE audit_events SET prev_hash = prev,
            hash = audit_event_digest(prev, r.request_id, r.version, r.actor, r.kind, r.data, r.created_at)
        WHERE id = r.id RETURNING hash INTO prev;
    END LOOP;
END;
$$;
-- +goose StatementEnd
ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;
ALTER TABLE audit_events ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL;

CREATE TRIGGER audit_events_chain
    BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_chain();

-- +goose Down
DROP TRIGGER audit_events_chain ON audit_events;
DROP FUNCTION audit_events_chain();
DROP FUNCTION audit_event_digest(bytea, bigint, integer, text, text, jsonb, timestamptz);
ALTER TABLE audit_events DROP COLUMN prev_hash, DROP COLUMN hash;
ALTER TABLE decisions DROP COLUMN approver_groups;
DROP TRIGGER request_versions_terraform_immutable ON request_versions;
DROP FUNCTION request_versions_terraform_immutable();
ALTER TABLE request_versions DROP CONSTRAINT request_versions_terraform_pair,
    DROP COLUMN requested_ttl_seconds, DROP COLUMN approved_ttl_seconds, DROP COLUMN approved_at,
    DROP COLUMN terraform, DROP COLUMN terraform_sha256;
DROP INDEX requests_updated;
DROP INDEX requests_active_expiry;
ALTER TABLE requests DROP CONSTRAINT requests_revoking_has_final,
    DROP COLUMN live_version, DROP COLUMN drifted, DROP COLUMN final_status, DROP COLUMN reminded_at;
