-- +goose Up
-- A change that grants no new access may be approved by rolegate's
-- no-new-access rule instead of a person (--auto-approve-narrowing). Such a
-- decision names the rule that made it; people's decisions name none. The
-- approval rules (ApprovalRules.Progress) let a rule approval stand for
-- the quorum only while the rule is switched on.
ALTER TABLE decisions ADD COLUMN rule text
    CHECK (rule IS NULL OR (rule = 'no-new-access' AND decision = 'approve'));

-- +goose Down
-- Rule approvals stay as decisions by "rolegate" holding no roles, which
-- the older rule never counts.
ALTER TABLE decisions DROP COLUMN rule;
