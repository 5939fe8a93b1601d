-- +goose Up
-- The audit chain is sealed after commit instead of inside every writing
-- transaction. Chaining at insert took a global lock held until commit,
-- which serialised every transaction that wrote an event (about 30
-- provisioning jobs a second at most). Now inserts take no lock; a sealer
-- (the worker, every few seconds, and `rolegate audit verify`) chains the
-- committed, unsealed events in ID order under the lock, numbering them
-- with seal_seq. The chain is verified in seal_seq order; an event is
-- tamper-evident from its sealing on, seconds after it is written.

DROP TRIGGER audit_events_chain ON audit_events;
DROP FUNCTION audit_events_chain();

ALTER TABLE audit_events
    ADD COLUMN seal_seq bigint UNIQUE,
    ALTER COLUMN prev_hash DROP NOT NULL,
    ALTER COLUMN hash DROP NOT NULL,
    ADD CONSTRAINT audit_events_sealed_whole
        CHECK ((seal_seq IS NULL) = (hash IS NULL) AND (seal_seq IS NULL) = (prev_hash IS NULL));

-- What is chained already keeps its order.
ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
UPDATE audit_events e SET seal_seq = o.n
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM audit_events) o
WHERE o.id = e.id;
ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only;
CREATE INDEX audit_events_unsealed ON audit_events (id) WHERE seal_seq IS NULL;

-- Rows stay append-only: the one UPDATE allowed is sealing an unsealed
-- event, changing nothing but its seal.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seal_seq IS NULL AND NEW.seal_seq IS NOT NULL
       AND NEW.id = OLD.id AND NEW.request_id IS NOT DISTINCT FROM OLD.request_id
       AND NEW.version IS NOT DISTINCT FROM OLD.version AND NEW.actor = OLD.actor
       AND NEW.kind = OLD.kind AND NEW.data = OLD.data AND NEW.created_at = OLD.created_at THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

-- audit_seal chains up to max_rows committed, unsealed events in ID order
-- and returns how many it sealed.
CREATE FUNCTION audit_seal(max_rows integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r    record;
    prev bytea;
    seq  bigint;
    n    integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(7236837376377378); -- "audit chain"
    SELECT hash, seal_seq INTO prev, seq FROM audit_events
        WHERE seal_seq IS NOT NULL ORDER BY seal_seq DESC LIMIT 1;
    prev := coalesce(prev, '\x'::bytea);
    seq := coalesce(seq, 0);
    FOR r IN SELECT id, request_id, version, actor, kind, data, created_at FROM audit_events
             WHERE seal_seq IS NULL ORDER BY id LIMIT max_rows FOR UPDATE LOOP
        seq := seq + 1;
        UPDATE audit_events
           SET seal_seq = seq, prev_hash = prev,
               hash = audit_event_digest(prev, r.request_id, r.version, r.actor, r.kind, r.data, r.created_at)
         WHERE id = r.id
        RETURNING hash INTO prev;
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION audit_seal(integer);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
-- +goose StatementEnd
DROP INDEX audit_events_unsealed;
ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only;
-- Events written since are chained in ID order before the columns become
-- mandatory again.
-- +goose StatementBegin
DO $$
DECLARE
    r    record;
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
ALTER TABLE audit_events DROP CONSTRAINT audit_events_sealed_whole, DROP COLUMN seal_seq,
    ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN hash SET NOT NULL;
-- +goose StatementBegin
CREATE FUNCTION audit_events_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7236837376377378); -- "audit chain"
    NEW.id := nextval(pg_get_serial_sequence('audit_events', 'id'));
    SELECT hash INTO NEW.prev_hash FROM audit_events ORDER BY id DESC LIMIT 1;
    NEW.prev_hash := coalesce(NEW.prev_hash, '\x'::bytea);
    NEW.hash := audit_event_digest(NEW.prev_hash, NEW.request_id, NEW.version, NEW.actor, NEW.kind,
                                   NEW.data, NEW.created_at);
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_events_chain
    BEFORE INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_chain();
