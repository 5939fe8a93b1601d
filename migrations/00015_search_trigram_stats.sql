-- +goose Up
-- Statistics of the trigrams of the search documents: ANALYZE samples
-- them (the most common trigrams, with the share of documents holding
-- each), and the store reads them to plan a search. A text that pairs a
-- word every document holds with a rare one (`bench-role-999993` among a
-- million `bench-role-N`) is answered by asking the trigram index for
-- the rare word and checking the whole text on the rows it returns,
-- instead of checking every candidate against each common trigram's
-- posting list (about 1 ms instead of 40 to 90 ms at a million requests).
-- Statistics only: nothing is written per row, and no result changes.
-- ANALYZE fills them now (it samples 30,000 rows: seconds at a million)
-- rather than when autovacuum next analyzes the table, which a large
-- table may not need for weeks.
CREATE STATISTICS request_versions_search_trgm ON (show_trgm(search_doc)) FROM request_versions;
ANALYZE request_versions;

-- +goose Down
DROP STATISTICS request_versions_search_trgm;
