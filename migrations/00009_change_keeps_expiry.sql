-- +goose Up
-- A change that asks for the same expiry as the live version (or, like
-- it, none) keeps the expiry in force when it goes live: its lifetime
-- does not start again, and an approver's shorter expiry is not undone.
ALTER TABLE request_versions
    ADD COLUMN keeps_expiry boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT request_versions_keeps_expiry_change CHECK (NOT keeps_expiry OR version > 1);

-- Changes on their way to IAM when this is applied follow the rule too.
UPDATE request_versions v SET keeps_expiry = true
FROM requests r, request_versions live
WHERE r.id = v.request_id AND v.version = r.version
  AND r.live_version IS NOT NULL AND r.version > r.live_version
  AND r.status IN ('pending', 'approved', 'provisioning', 'failed')
  AND live.request_id = r.id AND live.version = r.live_version
  AND v.expires_at IS NOT DISTINCT FROM live.expires_at;

-- +goose Down
ALTER TABLE request_versions DROP COLUMN keeps_expiry;
