package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/problem"
)

// handleAPIListRequests lists requests under the same rule as the pages,
// each with its access in words and risk flags; risk= keeps those flagged
// with one code (store.ListAssessed).
func handleAPIListRequests(st Store) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := newQuery(c, "status", "requester", "bucket", "account", "q", "updated_since", "cursor", "limit", "order", "risk")
		f := store.ListFilter{
			Status: store.Status(q.str("status")), Requester: q.str("requester"), Bucket: q.str("bucket"), Account: q.str("account"),
			Text: q.str("q"), UpdatedSince: q.time("updated_since"), Cursor: q.str("cursor"), Limit: q.int("limit", 1, 500),
		}
		if f.Status != "" && !f.Status.Valid() {
			q.errs = append(q.errs, problem.Field{Field: "status", Message: "must be one of " + strings.Join(statusNames(), ", ")})
		}
		if len(f.Text) > store.MaxSearchText {
			q.errs = append(q.errs, problem.Field{Field: "q", Message: fmt.Sprintf("must be at most %d bytes long (it has %d)", store.MaxSearchText, len(f.Text))})
		}
		if names := st.Settings().AccountNames(); f.Account != "" && !slices.Contains(names, f.Account) {
			q.errs = append(q.errs, problem.Field{Field: "account", Message: "must be one of " + strings.Join(names, ", ")})
		}
		risk := q.str("risk")
		if risk != "" && !slices.Contains(provision.RiskCodes(), risk) {
			q.errs = append(q.errs, problem.Field{Field: "risk", Message: "must be one of " + strings.Join(provision.RiskCodes(), ", ")})
		}
		switch q.str("order") {
		case "", "newest":
		case "oldest":
			f.OldestFirst = true
		default:
			q.errs = append(q.errs, problem.Field{Field: "order", Message: "must be newest or oldest"})
		}
		if err := q.err(); err != nil {
			return err
		}
		// As on the pages, requesters list their own requests only.
		if err := ownOnly(apiActor(c), &f.Requester, "Requesters list their own requests only; approvers may list anyone's."); err != nil {
			return err
		}
		page, as, err := st.ListAssessed(c.Request().Context(), apiActor(c), f, risk)
		if err != nil {
			return listError(c, err)
		}
		return c.JSON(http.StatusOK, pageView(st, apiActor(c), page, as))
	}
}

// ownOnly keeps a requester's list to their own: *owner, the filter by
// owner, becomes the actor, and naming someone else is refused (403, with
// message). Approvers and admins list anyone's.
func ownOnly(actor store.Actor, owner *string, message string) error {
	if actor.Has(store.RoleApprover) || actor.Has(store.RoleAdmin) {
		return nil
	}
	if *owner != "" && *owner != actor.Name {
		return newAPIError(http.StatusForbidden, "forbidden", message)
	}
	*owner = actor.Name
	return nil
}

// listError answers err of a list: a query the store cannot read with 400
// bad-query, anything else as it is (a cursor the list did not give out
// is answered by its own row of the problem table, naming cursor).
func listError(c echo.Context, err error) error {
	if se, _, _ := problem.Lookup(c, err, true); se != nil && se.Kind == store.KindInvalid {
		return newAPIError(http.StatusBadRequest, "bad-query", problem.Sentence(se, ""))
	}
	return err
}

// statusNames are the request statuses a list may be filtered by.
func statusNames() []string {
	var out []string
	for _, s := range store.Statuses() {
		out = append(out, string(s))
	}
	return out
}

func pageView(st Store, actor store.Actor, page store.RequestPage, as map[int64]store.Assessment) RequestPage {
	out := RequestPage{Items: []RequestView{}, NextCursor: page.Next}
	for _, r := range page.Requests {
		out.Items = append(out.Items, requestView(st, actor, r, as))
	}
	return out
}
