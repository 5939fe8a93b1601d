package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

func handleAPIMe() echo.HandlerFunc {
	return func(c echo.Context) error {
		t := tokenOf(c)
		roles, groups := t.Roles, t.Groups
		if roles == nil {
			roles = []store.Role{}
		}
		if groups == nil {
			groups = []string{}
		}
		return c.JSON(http.StatusOK, MeView{Name: t.User, Roles: roles, Groups: groups,
			Token: TokenView{ID: t.ID, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt}})
	}
}

// NameTakenMessage is what the request form (in its preview and on
// submit) and the API's preview say when another pending or live request
// holds the role name.
const NameTakenMessage = "a role with this name is already requested or live; choose another name"

// NameTaken is NameTakenMessage naming the account, when there are several
// (a name is taken per account).
func NameTaken(set provision.Settings, account string) string {
	if a, ok := set.Account(account); ok && len(set.Accounts) > 1 {
		return fmt.Sprintf("a role with this name is already requested or live in account %s; choose another name", a.Name)
	}
	return NameTakenMessage
}

// handleAPIPreview validates a spec and returns the policies and the
// Terraform it would get, storing nothing. The justification is optional
// here: nobody decides on a preview. As the form's preview does, it says
// when another request holds the role name, or a live role of an earlier
// name prefix has its name in IAM: what every signed-in user gets from
// the form too, never which request holds it.
// With ?change_of=ID of a role the caller may change, it previews a change
// of that role: its own name is not taken, and it is no reuse of itself.
func handleAPIPreview(st Store) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := newQuery(c, "change_of")
		changeOf := q.id("change_of")
		if err := q.err(); err != nil {
			return err
		}
		var b specBody
		if err := decodeJSON(c, &b, false); err != nil {
			return err
		}
		changed, err := Changeable(c.Request().Context(), st, apiActor(c), changeOf)
		if err != nil {
			return err
		}
		changeOf = changed.ID
		set := ChangeSettings(st.Settings(), changed)
		// Validate's rules for new specs apply, which NewPlan leaves to
		// stored ones, to the spec as RequestChange checks it.
		check := store.SpecToCheck(changed, b.spec())
		if err := check.Validate(set); err != nil {
			return err
		}
		plan, err := provision.NewPlan(check, set, provision.PlanMeta{RequestID: "preview", Requester: apiActor(c).Name})
		if err != nil {
			return err
		}
		tf, err := provision.Terraform(plan)
		if err != nil {
			return err
		}
		p := st.Rules().Progress(b.RoleSpec, nil)
		need := approvalsView(p)
		need.Summary = p.Requirement()
		ctx := c.Request().Context()
		a, err := st.AssessSpec(ctx, apiActor(c), b.spec(), changed)
		if err != nil {
			return err
		}
		reuse, err := reuseViews(ctx, st, apiActor(c), apiActor(c).Name, b.Account, b.Buckets, changeOf)
		if err != nil {
			return err
		}
		pv := PreviewView{Plan: planView(plan), Terraform: string(tf), Approvals: need,
			Summary: summaryView(a.Summary), Risks: risksView(a.Risks), Reuse: reuse}
		taken, err := st.RoleNameTaken(ctx, b.Account, b.Name, changeOf)
		if err != nil {
			return err
		}
		if taken {
			pv.NameTaken = NameTaken(st.Settings(), b.Account)
		} else if changeOf == 0 {
			// A change keeps the name its role has in IAM.
			if pv.NameTaken, err = st.IAMNameTaken(ctx, b.Account, b.Name); err != nil {
				return err
			}
		}
		return c.JSON(http.StatusOK, pv)
	}
}

// handleAPITerraform returns the Terraform stored when a version was
// provisioned, as text/plain with its SHA-256 as a strong ETag. Without a
// version it is the live one's (store.LiveVersion): the role as it is in
// IAM, also while a change is pending or after one was rejected or failed.
// A request that never went live, and a version never provisioned, have
// none (404); the page and the preview show what one would look like.
func handleAPITerraform(st Store, byVersion bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		want := 0
		if byVersion {
			n, ok := store.ParseID(c.Param("version"))
			if !ok || n > math.MaxInt32 {
				return newAPIError(http.StatusNotFound, "not-found", fmt.Sprintf("%q is not a version number (1, 2, ...).", c.Param("version")))
			}
			want = int(n)
		}
		r, err := st.GetRequest(c.Request().Context(), id)
		if err != nil {
			return err
		}
		if err := apiMayView(st, apiActor(c), r); err != nil {
			return err
		}
		versions, err := st.ListVersions(c.Request().Context(), id)
		if err != nil {
			return err
		}
		var v store.Version
		if want == 0 {
			live, ok := store.LiveVersion(r, versions)
			if !ok {
				return newAPIError(http.StatusNotFound, "not-provisioned",
					fmt.Sprintf("Request %d has no live version: nothing of it has been provisioned, so it has no Terraform yet.", id))
			}
			v = live
		} else {
			found := false
			for _, ver := range versions {
				if ver.Number == want {
					v, found = ver, true
				}
			}
			if !found {
				return newAPIError(http.StatusNotFound, "not-found", fmt.Sprintf("Request %d has no version %d.", id, want))
			}
		}
		if v.Terraform == "" {
			return newAPIError(http.StatusNotFound, "not-provisioned",
				fmt.Sprintf("Version %d of request %d has not been provisioned, so it has no Terraform yet.", v.Number, id))
		}
		sum := v.TerraformSHA256
		if sum == "" {
			s := sha256.Sum256([]byte(v.Terraform))
			sum = hex.EncodeToString(s[:])
		}
		etag := `"` + sum + `"`
		h := c.Response().Header()
		h.Set("ETag", etag)
		h.Set("Cache-Control", "private, max-age=0, must-revalidate")
		if match := c.Request().Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
			return c.NoContent(http.StatusNotModified)
		}
		return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(v.Terraform))
	}
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "W/"))
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// handleAPIListEvents lists the audit trail. Approvers and admins see all
// of it; others the events of a request (every signed-in user may read
// requests and their history) or their own actions.
func handleAPIListEvents(st Store) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := newQuery(c, "request_id", "actor", "kind", "since", "until", "after", "limit")
		f := store.EventFilter{
			RequestID: q.id("request_id"), Actor: q.str("actor"), Kind: q.str("kind"),
			Since: q.time("since"), Until: q.time("until"), AfterID: q.id("after"), Limit: q.int("limit", 1, 1000),
		}
		if err := q.err(); err != nil {
			return err
		}
		actor := apiActor(c)
		// A request's history follows the request's own read rule.
		if f.RequestID != 0 {
			r, err := st.GetRequest(c.Request().Context(), f.RequestID)
			if err != nil {
				return err
			}
			if err := apiMayView(st, actor, r); err != nil {
				return err
			}
		} else if !actor.Has(store.RoleApprover) && !actor.Has(store.RoleAdmin) && (f.Actor != actor.Name || store.IsSystemActor(f.Actor)) {
			return newAPIError(http.StatusForbidden, "forbidden", fmt.Sprintf("Requesters list the events of a request they may read (request_id=) or their own actions (actor=%s); the whole trail is for approvers and admins.",
				actor.Name))
		}
		limit := f.Limit
		if limit == 0 {
			limit = 100
		}
		events, err := st.ListEvents(c.Request().Context(), f)
		if err != nil {
			return err
		}
		out := EventPage{Items: []EventView{}}
		for _, e := range events {
			out.Items = append(out.Items, eventView(e))
		}
		if len(events) == limit {
			out.NextAfter = events[len(events)-1].ID
		}
		return c.JSON(http.StatusOK, out)
	}
}

// Changeable is request id when actor may change it, else the zero
// Request (also for 0 and an ID of no request): a preview of a change of a request the
// caller may not change answers as one of a new request, telling nothing
// of that request. The form's preview and the API's share it.
func Changeable(ctx context.Context, st Workflow, actor store.Actor, id int64) (store.Request, error) {
	if id == 0 {
		return store.Request{}, nil
	}
	r, err := st.GetRequest(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Request{}, nil
	case err != nil:
		return store.Request{}, err
	case !st.Allowed(actor, r).Change:
		return store.Request{}, nil
	}
	return r, nil
}

// ChangeSettings are the settings a preview of a change of r plans under:
// the IAM name and path its role keeps (Settings.Keeping), as the store
// assesses and provisions the change, not those the name prefix and path
// give a new request today; set itself for a new request (r the zero
// Request).
func ChangeSettings(set provision.Settings, r store.Request) provision.Settings {
	if r.ID == 0 {
		return set
	}
	return set.Keeping(r.Spec.Account, r.Spec.Name, r.KeptRoleARN())
}
