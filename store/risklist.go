package store

import (
	"context"
	"slices"

	"github.com/rolegate/rolegate/provision"
)

// maxRiskScan bounds the requests one page of a risk-filtered list reads.
const maxRiskScan = 1000

// ListAssessed returns one page of the requests of f with their
// assessments. With a risk code, only requests flagged with it are kept:
// the flags are computed from each plan (Assess), not stored, so the page
// is filled by reading f's requests in order, at most maxRiskScan of them;
// a page may then hold fewer than f.Limit requests and still have a next
// one. It returns ErrInvalid for an unknown risk code and ListRequests'
// errors.
func (db *DB) ListAssessed(ctx context.Context, viewer Actor, f ListFilter, risk string) (RequestPage, map[int64]Assessment, error) {
	if risk == "" {
		page, err := db.ListRequests(ctx, f)
		if err != nil {
			return RequestPage{}, nil, err
		}
		as, err := db.Assess(ctx, viewer, page.Requests)
		return page, as, err
	}
	if !slices.Contains(provision.RiskCodes(), risk) {
		return RequestPage{}, nil, errorf(KindInvalid, "unknown risk %q", risk)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	var out RequestPage
	kept := map[int64]Assessment{}
	for scanned := 0; ; {
		page, err := db.ListRequests(ctx, f)
		if err != nil {
			return RequestPage{}, nil, err
		}
		as, err := db.Assess(ctx, viewer, page.Requests)
		if err != nil {
			return RequestPage{}, nil, err
		}
		for i, r := range page.Requests {
			if !as[r.ID].HasRisk(risk) {
				continue
			}
			out.Requests = append(out.Requests, r)
			kept[r.ID] = as[r.ID]
			if len(out.Requests) == limit {
				if i < len(page.Requests)-1 || page.Next != "" {
					out.Next = encodeCursor(r.ID)
				}
				return out, kept, nil
			}
		}
		scanned += len(page.Requests)
		if page.Next == "" || scanned >= maxRiskScan {
			out.Next = page.Next
			return out, kept, nil
		}
		f.Cursor = page.Next
	}
}
