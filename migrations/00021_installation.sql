-- +goose Up
-- rolegate knows its roles and instance profiles by their tags:
-- managed-by=rolegate and rolegate:request-id=<request ID>. A request ID
-- is this database's serial number, so two rolegate installations in one
-- AWS account (a staging and a production one), or one whose database was
-- rebuilt, both hold a request 42, and each took the other's role 42 of the
-- same name for its own: it overwrote its policy, or revoked it. Every
-- database now has an installation ID of its own, drawn here once and
-- never changed, which rolegate tags on everything it creates
-- (rolegate:installation) and requires on everything it changes. The one
-- row is the database's: a copy of the database (a dump restored as
-- another installation's) carries the same ID.
CREATE TABLE installation (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    one_row    boolean NOT NULL DEFAULT true UNIQUE CHECK (one_row),
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO installation DEFAULT VALUES;

-- +goose Down
DROP TABLE installation;
