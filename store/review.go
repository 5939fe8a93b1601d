package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/rolegate/rolegate/provision"
)

// ReviewPolicy is how live roles are reviewed by their owners
// (--review-interval, --review-grace). The zero value turns reviews off.
type ReviewPolicy struct {
	// Interval is how long a role stays confirmed: a review falls due this
	// long after the role first went live, and again this long after each
	// confirmation. A change that goes live keeps the cycle it is in.
	// 0 turns reviews off.
	Interval time.Duration
	// Grace is how long the owner has after the reminder (sent when the
	// review falls due) before an unconfirmed role is revoked.
	Grace time.Duration
}

// On reports whether live roles are reviewed.
func (p ReviewPolicy) On() bool { return p.Interval > 0 }

// ReviewState is where a live role's review stands.
type ReviewState string

const (
	// ReviewUpcoming: confirmed (or live) for less than the interval;
	// nothing to do yet.
	ReviewUpcoming ReviewState = "upcoming"
	// ReviewDue: the interval has passed; the owner confirms or lets the
	// role go before RevokeAt, or it is revoked then. The dashboard counts
	// these as overdue.
	ReviewDue ReviewState = "due"
)

// MaxReviewNote is the longest note a confirmation or a let-go carries,
// in characters.
const MaxReviewNote = 1000

// Review is the review of one live role.
type Review struct {
	RequestID int64
	RoleName  string
	Owner     string
	// Status is the request's: a role with a change under way is reviewed
	// too, as its live version stays in IAM.
	Status Status
	// Since is when the current cycle began: the first activation or the
	// last confirmation.
	Since time.Time
	// DueAt is when the review falls due (Since + Interval).
	DueAt time.Time
	// RemindedAt is when this cycle's reminder was sent; nil until then.
	RemindedAt *time.Time
	// RevokeAt is when the role is revoked unless confirmed: the grace
	// after the reminder, which is sent when the review falls due (or at
	// the next check, if that is later).
	RevokeAt time.Time
	State    ReviewState
}

// Schedule returns when a review whose cycle began at since (and whose
// reminder, if sent, went out at reminded) falls due, when it revokes the
// role unless confirmed, and its state at now. The periodic check acts on
// the same rule in SQL (reviewDueSQL, reviewLapsedSQL): the reminder goes
// out once the review is due, and the role is revoked once it is due and
// the grace since the reminder has passed, so the owner always gets the
// whole grace after being told, even when the check ran late.
func (p ReviewPolicy) Schedule(since time.Time, reminded *time.Time, now time.Time) (due, revoke time.Time, state ReviewState) {
	due = since.Add(p.Interval)
	state = ReviewUpcoming
	if !now.Before(due) {
		state = ReviewDue
	}
	switch {
	case reminded != nil:
		revoke = laterOf(due, reminded.Add(p.Grace))
	case state == ReviewDue:
		revoke = now.Add(p.Grace) // the reminder goes out at the next check
	default:
		revoke = due.Add(p.Grace)
	}
	return due, revoke, state
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// underReviewSQL selects the live roles that are reviewed: those whose
// lifetime runs (expirableSQL: active, or with a change under way) and
// whose cycle has begun.
const underReviewSQL = `(review_from IS NOT NULL AND ` + expirableSQL + `)`

// reviewDueSQL holds for a review due at $now (@now) with interval
// @interval_us microseconds; reviewLapsedSQL for one whose grace
// (@grace_us) after the reminder has passed too.
const (
	reviewDueSQL    = `review_from + @interval_us::bigint * interval '1 microsecond' <= @now`
	reviewLapsedSQL = reviewDueSQL + ` AND review_reminded_at + @grace_us::bigint * interval '1 microsecond' <= @now`
)

// reviewArgs are the named arguments of reviewDueSQL and reviewLapsedSQL.
func (db *DB) reviewArgs(now time.Time) pgx.NamedArgs {
	return pgx.NamedArgs{"now": now, "interval_us": db.reviews.Interval.Microseconds(), "grace_us": db.reviews.Grace.Microseconds()}
}

// Reviews returns the review policy.
func (db *DB) Reviews() ReviewPolicy { return db.reviews }

func (db *DB) reviewOf(id int64, role, owner string, status Status, since time.Time, reminded *time.Time) Review {
	due, revoke, state := db.reviews.Schedule(since, reminded, db.now())
	return Review{RequestID: id, RoleName: role, Owner: owner, Status: status, Since: since,
		DueAt: due, RemindedAt: reminded, RevokeAt: revoke, State: state}
}

const reviewColumns = `id, role_name, requester, status, review_from, review_reminded_at`

func (db *DB) scanReview(row pgx.Row) (Review, error) {
	var (
		id          int64
		role, owner string
		status      Status
		since       time.Time
		reminded    *time.Time
	)
	if err := row.Scan(&id, &role, &owner, &status, &since, &reminded); err != nil {
		return Review{}, interpret(err)
	}
	return db.reviewOf(id, role, owner, status, since, reminded), nil
}

// ReviewFilter narrows ListReviews. Zero fields do not filter.
type ReviewFilter struct {
	// Owner keeps the reviews of one owner's roles.
	Owner string
	// State keeps upcoming or due reviews.
	State ReviewState
	// Cursor continues a previous page (ReviewPage.Next).
	Cursor string
	// Limit is the page size, 1..500; default 50.
	Limit int
}

// ReviewPage is one page of reviews, soonest due first, and the cursor of
// the next page, empty on the last.
type ReviewPage struct {
	Reviews []Review
	Next    string
}

// ListReviews returns the reviews of live roles matching f, soonest due
// first. With reviews off it returns none. It returns ErrBadCursor for a
// foreign cursor and ErrInvalid for a bad state or page size.
func (db *DB) ListReviews(ctx context.Context, f ReviewFilter) (ReviewPage, error) {
	limit := f.Limit
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > 500 {
		return ReviewPage{}, errorf(KindInvalid, "page size %d is not from 1 to 500", limit)
	}
	if f.State != "" && f.State != ReviewUpcoming && f.State != ReviewDue {
		return ReviewPage{}, errorf(KindInvalid, "review state %q is not upcoming or due", f.State)
	}
	if !db.reviews.On() {
		return ReviewPage{Reviews: []Review{}}, nil
	}
	args := db.reviewArgs(db.now().UTC())
	where := []string{underReviewSQL}
	if f.Owner != "" {
		where, args["owner"] = append(where, "requester = @owner"), f.Owner
	}
	switch f.State {
	case ReviewDue:
		where = append(where, reviewDueSQL)
	case ReviewUpcoming:
		where = append(where, "NOT ("+reviewDueSQL+")")
	}
	if f.Cursor != "" {
		from, id, err := decodeReviewCursor(f.Cursor)
		if err != nil {
			return ReviewPage{}, err
		}
		where, args["after_from"], args["after_id"] = append(where, "(review_from, id) > (@after_from, @after_id)"), from, id
	}
	args["limit"] = limit + 1
	rows, err := db.pool.Query(ctx, `SELECT `+reviewColumns+` FROM requests WHERE `+strings.Join(where, " AND ")+`
		ORDER BY review_from, id LIMIT @limit`, args)
	if err != nil {
		return ReviewPage{}, interpret(err)
	}
	reviews, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Review, error) { return db.scanReview(row) })
	if err != nil {
		return ReviewPage{}, interpret(err)
	}
	page := ReviewPage{Reviews: append([]Review{}, reviews...)}
	if len(page.Reviews) > limit {
		page.Reviews = page.Reviews[:limit]
		last := page.Reviews[limit-1]
		page.Next = encodeReviewCursor(last.Since, last.RequestID)
	}
	return page, nil
}

// encodeReviewCursor and decodeReviewCursor keep a review page's place:
// the cycle start (to the microsecond, as stored) and request ID of its
// last review.
func encodeReviewCursor(since time.Time, id int64) string {
	return cursor(fmt.Sprintf("v%d.%d", since.UnixMicro(), id))
}

func decodeReviewCursor(c string) (time.Time, int64, error) {
	rest, ok := cursorText(c, "v")
	micros, idText, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return time.Time{}, 0, ErrBadCursor
	}
	us, err1 := strconv.ParseInt(micros, 10, 64)
	id, err2 := strconv.ParseInt(idText, 10, 64)
	// Only times of the years 1 to 9999 are cursors rolegate gives out:
	// PostgreSQL refuses much further ones, which would be a database
	// error rather than a foreign cursor.
	if err1 != nil || err2 != nil || id <= 0 || us < minCursorMicros || us > maxCursorMicros {
		return time.Time{}, 0, ErrBadCursor
	}
	return time.UnixMicro(us), id, nil
}

// The first and last microsecond of the years 1 to 9999, in Unix time:
// the times a review cursor may name.
var (
	minCursorMicros = time.Date(1, time.January, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	maxCursorMicros = time.Date(9999, time.December, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()
)

// CountDueReviews counts the live roles whose review is due and not yet
// confirmed (the admins' dashboard calls them overdue); 0 with reviews
// off.
func (db *DB) CountDueReviews(ctx context.Context) (int, error) {
	if !db.reviews.On() {
		return 0, nil
	}
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM requests WHERE `+underReviewSQL+` AND `+reviewDueSQL,
		db.reviewArgs(db.now().UTC())).Scan(&n)
	return n, interpret(err)
}

// GetReview returns the review of request id's live role. It returns
// ErrNotFound when there is no such request, and ErrConflict when reviews
// are off or the request has no live role under review.
func (db *DB) GetReview(ctx context.Context, id int64) (Review, error) {
	return db.lockReview(ctx, db.pool, id, "")
}

// lockReview reads (in a transaction: and locks) the review of request id.
// lock is "" or a locking clause.
func (db *DB) lockReview(ctx context.Context, q querier, id int64, lock string) (Review, error) {
	var live bool
	rv, err := db.scanReviewRow(q.QueryRow(ctx, `SELECT `+reviewColumns+`, `+underReviewSQL+` FROM requests WHERE id = $1 `+lock, id), &live)
	if err != nil {
		return Review{}, err
	}
	if !db.reviews.On() {
		return rv, errorf(KindConflict, "access reviews are off on this server")
	}
	if !live {
		return rv, errorf(KindConflict, "request %d is %s: it has no live role to review", id, rv.Status)
	}
	return rv, nil
}

// scanReviewRow scans reviewColumns and whether the role is under review;
// a request that never went live has no cycle and comes back with only its
// identity and status.
func (db *DB) scanReviewRow(row pgx.Row, live *bool) (Review, error) {
	var (
		rv    Review
		since *time.Time
	)
	if err := row.Scan(&rv.RequestID, &rv.RoleName, &rv.Owner, &rv.Status, &since, &rv.RemindedAt, live); err != nil {
		return Review{}, interpret(err)
	}
	if since == nil {
		*live = false
		return rv, nil
	}
	return db.reviewOf(rv.RequestID, rv.RoleName, rv.Owner, rv.Status, *since, rv.RemindedAt), nil
}

// mayAnswerReview: only the role's owner or an admin answers its review.
func mayAnswerReview(a Actor, rv Review) error {
	if a.Name != rv.Owner && !a.Has(RoleAdmin) {
		return errorf(KindForbidden, "only the role's owner or an admin may answer its access review")
	}
	return nil
}

// MayKeep reports whether a may confirm that a role is still needed: an
// admin, or its owner while they still hold the requester role. An owner
// who lost it (moved team, left the requester groups) may no longer ask
// for access, so their confirmation must not keep a role alive review
// after review; they may still let it go, and an admin may confirm it.
func MayKeep(a Actor) bool { return a.Has(RoleAdmin) || a.Has(RoleRequester) }

// ReviewNoteFault returns what is wrong with the note of a confirmation
// or a let-go, in words, or "" when it may be kept: the free-text rule of
// every field people write (provision.FreeTextFault; the justification
// and decision comments follow it too), at most MaxReviewNote characters.
// The store refuses such a note (ErrInvalid); the pages and the API say
// the same at the field before they ask.
func ReviewNoteFault(note string) string {
	if p := provision.FreeTextFault("the note", note); p != "" {
		return p
	}
	if n := utf8.RuneCountInString(note); n > MaxReviewNote {
		return fmt.Sprintf("the note has %d characters; at most %d are kept (shorten it, or put the details in the request's justification)", n, MaxReviewNote)
	}
	return ""
}
