-- +goose Up
-- An expiry is now at most ten years ahead, but earlier releases took any
-- RFC 3339 time, and one with an offset could fall in the year 10000 UTC
-- ("9999-12-31T23:59:59-23:00"). JSON writes times as RFC 3339, whose
-- years stop at 9999, so every API answer holding such a request failed.
-- Such expiries are capped at 9999-12-31 00:00 UTC, which is still in the
-- year 9999 in every time zone the server may read times in, and means
-- the same as before (never, in practice); the checks hold every later
-- write to it. No other row is touched.
UPDATE requests SET expires_at = '9999-12-31 00:00:00+00'
WHERE expires_at > '9999-12-31 00:00:00+00';
UPDATE request_versions SET expires_at = '9999-12-31 00:00:00+00'
WHERE expires_at > '9999-12-31 00:00:00+00';

ALTER TABLE requests ADD CONSTRAINT requests_expires_at_in_range
    CHECK (expires_at <= '9999-12-31 00:00:00+00');
ALTER TABLE request_versions ADD CONSTRAINT request_versions_expires_at_in_range
    CHECK (expires_at <= '9999-12-31 00:00:00+00');

-- +goose Down
ALTER TABLE request_versions DROP CONSTRAINT request_versions_expires_at_in_range;
ALTER TABLE requests DROP CONSTRAINT requests_expires_at_in_range;
