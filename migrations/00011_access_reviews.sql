-- +goose Up
-- Access reviews (--review-interval): every interval, the owner of a live
-- role confirms it is still needed, or it is revoked --review-grace after
-- the reminder. review_from is when the current review cycle began: the
-- role's first activation, then each confirmation; a change that goes live
-- keeps the cycle. review_reminded_at is when the current cycle's reminder
-- was sent, NULL until then; a confirmation clears it.
ALTER TABLE requests
    ADD COLUMN review_from        timestamptz,
    ADD COLUMN review_reminded_at timestamptz,
    ADD CONSTRAINT requests_review_reminded_in_cycle
        CHECK (review_reminded_at IS NULL OR (review_from IS NOT NULL AND review_reminded_at >= review_from));

-- Roles live now begin their first cycle at their first activation, as
-- they would have had reviews been on from the start.
UPDATE requests r SET review_from = coalesce(
    (SELECT min(e.created_at) FROM audit_events e WHERE e.request_id = r.id AND e.kind = 'request.active'),
    r.activated_at)
WHERE r.live_version IS NOT NULL;

-- The periodic review check and the reviews pages find live roles by the
-- start of their cycle.
CREATE INDEX requests_review_from ON requests (review_from, id) WHERE review_from IS NOT NULL
    AND live_version IS NOT NULL AND status IN ('active', 'pending', 'approved', 'provisioning', 'failed');

-- +goose Down
DROP INDEX requests_review_from;
ALTER TABLE requests DROP CONSTRAINT requests_review_reminded_in_cycle,
    DROP COLUMN review_reminded_at, DROP COLUMN review_from;
