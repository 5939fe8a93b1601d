-- +goose Up
-- IAM compares role names without regard to case, letter by letter in
-- ASCII (names are ASCII). lower() folds by the database's collation,
-- under which 'I' may not lower to 'i' (a Turkish one lowers it to 'ı'):
-- "DATA-I" and "data-i" were then both let in, for IAM to refuse the
-- second as someone else's role. Folding under "C" folds exactly A-Z.
-- Should two requests not ended hold such names already (one of them
-- cannot have reached IAM), this fails naming them: cancel, reject or
-- revoke one, then start again. (PostgreSQL's own failure to build the
-- index would name neither the requests nor the remedy.)
-- +goose StatementBegin
DO $$
DECLARE
    clashes text;
BEGIN
    SELECT string_agg(format('requests %s in account %s (role names %s)', ids, account, names), '; ')
    INTO clashes
    FROM (SELECT account, string_agg(id::text, ', ' ORDER BY id) AS ids,
                 string_agg(role_name, ', ' ORDER BY id) AS names
          FROM requests
          WHERE status NOT IN ('rejected', 'cancelled', 'revoked', 'expired')
          GROUP BY account, lower(role_name COLLATE "C")
          HAVING count(*) > 1) AS clash;
    IF clashes IS NOT NULL THEN
        RAISE EXCEPTION 'role names that IAM takes for one role, as it ignores their case, are held by requests not ended: %; cancel, reject or revoke all but one of each with the rolegate release this database ran before, then migrate again', clashes;
    END IF;
END
$$;
-- +goose StatementEnd
DROP INDEX requests_live_role_name;
CREATE UNIQUE INDEX requests_live_role_name ON requests (account, lower(role_name COLLATE "C"))
    WHERE status NOT IN ('rejected', 'cancelled', 'revoked', 'expired');

-- +goose Down
DROP INDEX requests_live_role_name;
CREATE UNIQUE INDEX requests_live_role_name ON requests (account, lower(role_name))
    WHERE status NOT IN ('rejected', 'cancelled', 'revoked', 'expired');
