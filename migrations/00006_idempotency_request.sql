-- +goose Up
-- A creating request made under an Idempotency-Key records the request it
-- wrote on the key, in the same transaction as the write. If the server
-- dies before it stores the response, the retry that takes the stale
-- claim over answers with that request instead of running again.
ALTER TABLE idempotency_keys ADD COLUMN request_id bigint REFERENCES requests (id);

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN request_id;
