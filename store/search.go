package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// searchSQL is the condition of a free-text search, whose LIKE pattern
// ('%text%', escaped) is its argument: the text is in the role name, the
// requester, the justification or a bucket or prefix of the current
// version. It asks the version's search document, which holds each of
// them on a line of its own, so that the trigram index of migration 00010
// answers. A text without a line break matches the document exactly
// where it matches one of its lines; one with a line break could also
// match across two lines, so it is checked against the fields too (only
// a justification, the one free text, can hold a line break).
//
// With narrow set, the index is asked for that one word of the text
// instead (its own argument, the next one), and the whole text is checked
// on the rows it returns: see narrowSearch. The results are the same,
// since every document holding the text holds each of its words.
func searchSQL(text string, narrow bool) string {
	cond := "v.search_doc ILIKE $%[1]d"
	if narrow {
		// Not the indexed expression: the planner checks it on the rows
		// the index gives for the word, and does not add its trigrams
		// to the index scan.
		cond = "v.search_doc ILIKE $%[2]d AND (v.search_doc || '') ILIKE $%[1]d"
	}
	if strings.Contains(text, "\n") {
		cond += " AND (r.role_name ILIKE $%[1]d OR r.requester ILIKE $%[1]d OR v.justification ILIKE $%[1]d)"
	}
	return cond
}

// Why narrowSearch: the trigram index answers a LIKE pattern by reading
// the posting list of every trigram in it. PostgreSQL starts from the
// rarest and checks each candidate against the others, decoding a page
// of each common trigram's list per candidate. A text made of a word
// every document holds and a rare one (`bench-role-999993` among a
// million `bench-role-N`, `number 4242`) then costs a hundred candidates
// times a dozen common lists: 40 to 90 ms at a million requests, against
// about 1 ms when the index is asked for the rare word alone.

// Shares of the search documents: a word whose trigrams bound the
// documents holding it to rareWordShare is asked for alone when another
// word of the text holds a trigram of commonTrigramShare or more (at a
// million requests: at most 10,000 rows to check, where the whole text
// would decode its common lists for each candidate).
const (
	rareWordShare      = 0.01
	commonTrigramShare = 0.05
)

// trigramStats are the most common trigrams of the search documents with
// the share of documents holding each, from ANALYZE's sample (the
// extended statistics of migration 00015). A trigram not listed is held
// by fewer documents than floor.
type trigramStats struct {
	share map[string]float64
	floor float64
}

// narrowSearch returns the one word of text to ask the index for, when
// the text pairs a rare word with common trigrams, and "" when the whole
// text is the better question (or stats know nothing). Words are runs of
// ASCII letters and digits, as the trigram index splits them; a text
// with other letters is left whole, since the index's split of those
// depends on the database's locale.
//
// The word keeps its case as typed: ILIKE folds case by the database's
// collation, in which a letter need not fold as Go's ToLower folds it
// (Turkish: 'I' is the capital of 'ı'), so only the same letters ask
// exactly what the whole text does of them.
func narrowSearch(text string, st *trigramStats) string {
	if st == nil || len(st.share) == 0 {
		return ""
	}
	for _, r := range text {
		if r >= 0x80 {
			return ""
		}
	}
	words := strings.FieldsFunc(text, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	})
	best, bestShare, common := "", 1.0, false
	for _, w := range words {
		lo, hi := st.wordShares(strings.ToLower(w))
		if hi >= commonTrigramShare {
			common = true
		}
		if len(w) >= 3 && lo < bestShare {
			best, bestShare = w, lo
		}
	}
	if !common || bestShare > rareWordShare {
		return ""
	}
	for _, w := range words {
		if !strings.EqualFold(w, best) {
			return best
		}
	}
	return "" // the text is that word, repeated: ask for it whole
}

// wordShares returns the least and the greatest share among the trigrams
// of w as the index reads them in '%w%' (no padding: the word may go on
// on either side); the least bounds how many documents hold w. A word
// under three characters has none: (1, 0).
func (st *trigramStats) wordShares(w string) (lo, hi float64) {
	lo, hi = 1, 0
	for i := 0; i+3 <= len(w); i++ {
		s, ok := st.share[w[i:i+3]]
		if !ok {
			s = st.floor
		}
		lo, hi = min(lo, s), max(hi, s)
	}
	return lo, hi
}

// searchStatsTTL is how long the trigram statistics are used before they
// are read again (autovacuum's ANALYZE renews them as the table grows);
// after a failed read they are tried again after searchStatsRetry.
const (
	searchStatsTTL   = 10 * time.Minute
	searchStatsRetry = 30 * time.Second
)

// searchStats caches the trigram statistics of the search documents.
type searchStats struct {
	mu    sync.Mutex
	stats *trigramStats
	next  time.Time // when to read them again
}

// trigrams returns the trigram statistics, read again after
// searchStatsTTL; nil when there are none (the table was never analyzed,
// or the database role does not own it and so cannot see them) or they
// could not be read. Not knowing only makes the search ask the index for
// the whole text. The read is the cache's, not the caller's: a search
// whose client went away does not leave the others without statistics.
func (db *DB) trigrams(ctx context.Context) *trigramStats {
	c := &db.search
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if now.Before(c.next) {
		return c.stats
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	st, err := db.readTrigrams(ctx)
	if err != nil {
		// Kept as they were (none, or the last read), tried again soon.
		c.next = now.Add(searchStatsRetry)
		return c.stats
	}
	c.stats, c.next = st, now.Add(searchStatsTTL)
	return st
}

// readTrigrams reads the trigram statistics; nil when there are none.
func (db *DB) readTrigrams(ctx context.Context) (*trigramStats, error) {
	var (
		elems []string
		freqs []float32
	)
	err := db.pool.QueryRow(ctx, `
		SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats_ext_exprs
		WHERE statistics_schemaname = current_schema() AND statistics_name = 'request_versions_search_trgm'
		  AND most_common_elems IS NOT NULL`).Scan(&elems, &freqs)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// The frequencies are one a trigram, then the least, the greatest
	// and the share of NULLs.
	if len(freqs) != len(elems)+3 {
		return nil, nil
	}
	st := &trigramStats{share: make(map[string]float64, len(elems)), floor: float64(freqs[len(elems)])}
	for i, e := range elems {
		st.share[e] = float64(freqs[i])
	}
	return st, nil
}

// forgetTrigrams makes the next search read the statistics anew.
func (db *DB) forgetTrigrams() {
	db.search.mu.Lock()
	db.search.next = time.Time{}
	db.search.mu.Unlock()
}
