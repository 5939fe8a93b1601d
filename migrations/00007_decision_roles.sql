-- +goose Up
-- The approval count is met only by approvers and admins; a data owner's
-- approval satisfies their routed group, never the count. So each decision
-- records the roles its maker held when they made it, next to their groups.
-- Decisions made before this migration hold NULL: who made them is known,
-- what roles they held is not, and they are counted as data owners' (fail
-- closed). A pending version approved under the old rule needs approvers'
-- decisions again before it is provisioned.
ALTER TABLE decisions ADD COLUMN approver_roles text[];
ALTER TABLE decisions ADD CONSTRAINT decisions_roles_known
    CHECK (approver_roles IS NOT NULL) NOT VALID;

-- +goose Down
ALTER TABLE decisions DROP CONSTRAINT decisions_roles_known;
ALTER TABLE decisions DROP COLUMN approver_roles;
