package store

import (
	"context"

	"github.com/rolegate/rolegate/provision"
)

// liveSpecs reads the live version's spec of each request in ids (those
// that have one), in one query.
func (db *DB) liveSpecs(ctx context.Context, ids []int64) (map[int64]provision.RoleSpec, error) {
	out := map[int64]provision.RoleSpec{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, specSelect+` WHERE r.id = ANY($1) AND v.version = r.live_version`, ids)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	for rows.Next() {
		id, spec, err := scanSpec(rows)
		if err != nil {
			return nil, err
		}
		out[id] = spec
	}
	return out, interpret(rows.Err())
}

// otherLiveRoles counts, for each request in ids (or for a request not
// stored yet when ids is empty, under the key 0), the live roles other
// than it whose live version reaches each of buckets, in one query. It
// reads the scopes flagged in_iam (migration 00014): those of live
// versions whose role is in IAM (inIAMSQL), which triggers keep.
func (db *DB) otherLiveRoles(ctx context.Context, buckets []string, ids ...int64) (map[int64]map[string]int, error) {
	if len(ids) == 0 {
		ids = []int64{0}
	}
	out := make(map[int64]map[string]int, len(ids))
	for _, id := range ids {
		out[id] = map[string]int{}
	}
	if len(buckets) == 0 {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, `
		SELECT s.bucket, array_agg(DISTINCT s.request_id)
		FROM request_scopes s
		WHERE s.in_iam AND s.bucket = ANY($1)
		GROUP BY s.bucket`, buckets)
	if err != nil {
		return nil, interpret(err)
	}
	defer rows.Close()
	for rows.Next() {
		var bucket string
		var holders []int64
		if err := rows.Scan(&bucket, &holders); err != nil {
			return nil, interpret(err)
		}
		for _, id := range ids {
			n := len(holders)
			for _, h := range holders {
				if h == id {
					n--
				}
			}
			out[id][bucket] = n
		}
	}
	return out, interpret(rows.Err())
}

// Reuse is a live role that already grants everything a request asks.
type Reuse struct {
	RequestID int64
	RoleName  string
	Owner     string
}

// ReusableRoles lists the live roles of requester in account (""
// is the default account; a role in another account is no answer), other
// than request except, whose live version already grants every scope of scopes (equal
// or wider: provision.Covers), as far as viewer may see them: a role
// viewer may not read (MayView) is left out, so the answer never tells a
// data owner about roles outside their buckets. It returns them by
// request ID.
func (db *DB) ReusableRoles(ctx context.Context, viewer Actor, requester, account string, scopes []provision.BucketScope, except int64) ([]Reuse, error) {
	var out []Reuse
	a, ok := db.settings.Account(account)
	if !ok {
		return nil, nil
	}
	f := ListFilter{Requester: requester, Account: a.Name, LiveInIAM: true, Limit: 500, OldestFirst: true}
	for {
		page, err := db.ListRequests(ctx, f)
		if err != nil {
			return nil, err
		}
		var ids []int64
		for _, r := range page.Requests {
			if r.ID != except && db.MayView(viewer, r) {
				ids = append(ids, r.ID)
			}
		}
		lives, err := db.liveSpecs(ctx, ids)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Requests {
			if live, ok := lives[r.ID]; ok && provision.Covers(live.Buckets, scopes) {
				out = append(out, Reuse{RequestID: r.ID, RoleName: r.Spec.Name, Owner: r.Requester})
			}
		}
		if page.Next == "" {
			return out, nil
		}
		f.Cursor = page.Next
	}
}
