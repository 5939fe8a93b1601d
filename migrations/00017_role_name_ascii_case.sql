-- +goose Up
-- IAM compares role names without regard to case, letter by letter in
-- ASCII (names are ASCII). lower() folds by the database's collation,
-- under which 'I' may not lower to 'i' (a Turkish one lowers it to 'ı'):
-- "DATA-I" and "data-i" were then both let in, for IAM to refuse the
-- second as someone else's role. Folding under "C" folds exactly A-Z.
-- Should two requests not ended hold such names already (one of them
-- cannot have reached IAM), this fails naming them: cancel, reject or
-- revoke one, then start again.
DROP INDEX requests_live_role_name;
CREATE UNIQUE INDEX requests_live_role_name ON requests (account, lower(role_name COLLATE "C"))
    WHERE status NOT IN ('rejected', 'cancelled', 'revoked', 'expired');

-- +goose Down
DROP INDEX requests_live_role_name;
CREATE UNIQUE INDEX requests_live_role_name ON requests (account, lower(role_name))
    WHERE status NOT IN ('rejected', 'cancelled', 'revoked', 'expired');
