-- +goose Up
-- Chain order is id order: the chain trigger takes its lock, then numbers
-- the event, so two transactions appending at once can neither chain in
-- one order and number in the other, whoever inserts (not only rolegate).

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_events_chain() RETURNS trigger
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_events_chain() RETURNS trigger
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
