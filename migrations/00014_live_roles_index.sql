-- +goose Up
-- The roles live in IAM (the store's inIAMSQL), by ID and live version:
-- the shared-bucket risk flag counts, for the buckets of a dashboard page,
-- the live roles reaching each, and without this index that count read
-- every request (a sequential scan: about 100 ms a page at a million
-- requests). Live roles are few beside all the requests ever made, so the
-- count now reads them and their live scopes only.
CREATE INDEX requests_in_iam ON requests (id, live_version)
    WHERE live_version IS NOT NULL
      AND status IN ('active', 'pending', 'approved', 'provisioning', 'failed', 'revoking');

-- +goose Down
DROP INDEX requests_in_iam;
