package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ListFilter narrows ListRequests. Zero fields do not filter.
type ListFilter struct {
	Status    Status
	Requester string
	Bucket    string
	// Account keeps the requests into the account of this name.
	Account string
	// Text matches, case-insensitively, any part of the role name, the
	// requester, or the current version's justification, buckets or
	// prefixes (searchSQL).
	Text string
	// UpdatedSince keeps requests changed at or after this time.
	UpdatedSince time.Time
	// DecidableBy keeps the requests this actor may decide: not their own,
	// and for a data owner who is not an approver, only those touching the
	// buckets routed to their groups (the approver dashboard's queue).
	DecidableBy *Actor
	// LiveInIAM keeps the requests whose role is in IAM (inIAMSQL).
	LiveInIAM bool
	// Cursor continues a previous page (RequestPage.Next).
	Cursor string
	// Limit is the page size, 1..500; default 50.
	Limit int
	// OldestFirst orders by creation ascending (the approver queue);
	// the default is newest first.
	OldestFirst bool
}

// RequestPage is one page of requests and the cursor of the next, empty on
// the last page.
type RequestPage struct {
	Requests []Request
	Next     string
}

// likePatterns turns the bucket patterns (accounts false) or the account
// patterns (accounts true) routed to any of groups into SQL LIKE patterns
// (`*` becomes `%`, `?` becomes `_`). No group: no pattern, which matches
// nothing.
func likePatterns(routes []Route, groups []string, accounts bool) []string {
	out := []string{}
	for _, r := range routes {
		pattern, account := strings.CutPrefix(r.Pattern, AccountRoute)
		if account != accounts {
			continue
		}
		for _, g := range groups {
			if r.Group == g {
				p := likeEscaper.Replace(pattern)
				p = strings.NewReplacer("*", "%", "?", "_").Replace(p)
				out = append(out, p)
			}
		}
	}
	return out
}

// routedSQL is the condition of a request routed to a data owner: a
// bucket of its current or live version matches one of the LIKE patterns
// of its first argument, or its account one of its second's (the numbers
// of the two arguments are formatted in).
const routedSQL = `(EXISTS (SELECT 1 FROM request_scopes s WHERE s.request_id = r.id AND s.version IN (r.version, r.live_version)
	AND s.bucket LIKE ANY($%d)) OR r.account LIKE ANY($%d))`

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// MaxSearchText is the longest free text ListRequests searches for, in
// bytes.
const MaxSearchText = 200

// encodeCursor and decodeCursor keep a request page's place: the ID of
// its last request.
func encodeCursor(id int64) string { return cursor("r" + strconv.FormatInt(id, 10)) }

func decodeCursor(c string) (int64, error) {
	text, ok := cursorText(c, "r")
	id, err := strconv.ParseInt(text, 10, 64)
	if !ok || err != nil || id <= 0 {
		return 0, ErrBadCursor
	}
	return id, nil
}

// cursor wraps a page's place, as text, in an opaque, URL-safe cursor.
func cursor(text string) string { return base64.RawURLEncoding.EncodeToString([]byte(text)) }

// cursorText returns the text of cursor c after its kind's prefix, and
// false for a cursor that is not base64 or not of that kind.
func cursorText(c, prefix string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(b), prefix)
}

// ListRequests returns one page of requests matching f, using keyset
// paging on the id (which grows with creation time), so deep pages cost
// the same as the first. It returns ErrBadCursor for a foreign cursor.
func (db *DB) ListRequests(ctx context.Context, f ListFilter) (RequestPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if limit > 500 {
		return RequestPage{}, errorf(KindInvalid, "page size %d is over 500", limit)
	}
	if f.Status != "" && !f.Status.Valid() {
		return RequestPage{}, errorf(KindInvalid, "unknown status %q", f.Status)
	}
	narrow := ""
	if f.Text != "" {
		narrow = narrowSearch(f.Text, db.trigrams(ctx))
	}
	sql, args, err := db.listRequestsQuery(f, limit, narrow)
	if err != nil {
		return RequestPage{}, err
	}
	if f.Text != "" {
		// Planned for this text, never with a plan cached for another:
		// how many rows a text matches decides between the trigram index
		// and the id order, and a generic plan, which knows no text,
		// scans the table for a rare one.
		args = append([]any{pgx.QueryExecModeExec}, args...)
	}
	rows, err := db.pool.Query(ctx, sql, args...)
	if err != nil {
		return RequestPage{}, interpret(err)
	}
	defer rows.Close()
	var page RequestPage
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return RequestPage{}, err
		}
		page.Requests = append(page.Requests, r)
	}
	if err := rows.Err(); err != nil {
		return RequestPage{}, interpret(err)
	}
	if len(page.Requests) > limit {
		page.Requests = page.Requests[:limit]
		page.Next = encodeCursor(page.Requests[limit-1].ID)
	}
	return page, nil
}

// listRequestsQuery builds the SELECT of one ListRequests page: f's
// conditions, the keyset order and limit+1 rows (the one more tells that
// there is a next page). It returns the statement and its arguments, or
// ErrInvalid for an over-long search text and ErrBadCursor for a foreign
// cursor. narrow is the one word of f.Text to ask the trigram index for
// (narrowSearch), or "".
func (db *DB) listRequestsQuery(f ListFilter, limit int, narrow string) (string, []any, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Status != "" {
		add("r.status = $%d", string(f.Status))
	}
	if f.LiveInIAM {
		where = append(where, inIAMSQL)
	}
	if f.Requester != "" {
		add("r.requester = $%d", f.Requester)
	}
	if f.Account != "" {
		add("r.account = $%d", f.Account)
	}
	if f.Text != "" {
		if len(f.Text) > MaxSearchText {
			return "", nil, errorf(KindInvalid, "search text is over %d characters", MaxSearchText)
		}
		args = append(args, "%"+likeEscaper.Replace(f.Text)+"%")
		if narrow != "" {
			args = append(args, "%"+narrow+"%") // letters and digits: nothing to escape
			where = append(where, fmt.Sprintf(searchSQL(f.Text, true), len(args)-1, len(args)))
		} else {
			where = append(where, fmt.Sprintf(searchSQL(f.Text, false), len(args)))
		}
	}
	if !f.UpdatedSince.IsZero() {
		add("r.updated_at >= $%d", f.UpdatedSince)
	}
	if a := f.DecidableBy; a != nil {
		add("r.requester <> $%d", a.Name)
		if !a.Has(RoleApprover) && !a.Has(RoleAdmin) {
			args = append(args, likePatterns(db.rules.Routes, a.Groups, false), likePatterns(db.rules.Routes, a.Groups, true))
			where = append(where, fmt.Sprintf(routedSQL, len(args)-1, len(args)))
		}
	}
	if f.Bucket != "" {
		add("EXISTS (SELECT 1 FROM request_scopes s WHERE s.request_id = r.id AND s.version = r.version AND s.bucket = $%d)", f.Bucket)
	}
	order := "DESC"
	cmp := "<"
	if f.OldestFirst {
		order, cmp = "ASC", ">"
	}
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return "", nil, err
		}
		add("r.id "+cmp+" $%d", after)
	}
	sql := `SELECT ` + requestColumns + requestFrom
	if len(where) > 0 {
		sql += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit+1)
	sql += fmt.Sprintf(` ORDER BY r.id %s LIMIT $%d`, order, len(args))
	return sql, args, nil
}
