-- +goose Up
-- A role's name and path in IAM come from the name prefix and role path
-- of the settings it is planned under, and IAM can neither rename a role
-- nor move it. A live role keeps them through role_arn. A request whose
-- provisioning began but did not finish (the role created, then the job
-- failed or was cut short) had nothing that kept them: planned again
-- after the prefix or path changed, it created a second role under the
-- new name and left the first in IAM for ever. The worker now records,
-- before its first IAM write, the role ARN it plans (the account part is
-- `*` when rolegate does not know the account's ID; only the path and the
-- name are used), and every later plan of the request keeps that path and
-- name, as role_arn keeps them for a live role. The name ends with the
-- role name, as a plan's does.
ALTER TABLE requests ADD COLUMN planned_role_arn text
    CHECK (planned_role_arn LIKE 'arn:%:iam::%:role/%'
           AND right(regexp_replace(planned_role_arn, '^.*/', ''), length(role_name)) = role_name);

-- +goose Down
ALTER TABLE requests DROP COLUMN planned_role_arn;
