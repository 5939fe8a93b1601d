-- +goose Up
-- A role or instance profile without a rolegate:installation tag was made
-- by a rolegate from before installation IDs (migration 21), and rolegate
-- adopts it: takes it for its request's and tags it. Any installation
-- with a request of the role's ID for a role of its name adopted it,
-- though, for as long as it was untagged: a staging rolegate upgraded
-- alongside production, whose request 42 was made yesterday, took
-- production's untagged role 42 of the same name for its own, overwrote
-- its policy or revoked it. Only a request that existed before this
-- database drew its installation ID can have had a role made without the
-- tag, so the installation row now keeps the highest such request ID,
-- and rolegate adopts an untagged role for requests up to it only. A
-- database that held no request then (a new one: the two migrations run
-- together) adopts none.
ALTER TABLE installation ADD COLUMN adopts_up_to bigint NOT NULL DEFAULT 0
    CHECK (adopts_up_to >= 0);
UPDATE installation
SET adopts_up_to = coalesce((SELECT max(r.id) FROM requests r WHERE r.created_at < installation.created_at), 0);

-- +goose Down
ALTER TABLE installation DROP COLUMN adopts_up_to;
