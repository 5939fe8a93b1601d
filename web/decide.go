package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/auth"
)

// expiryLayout is the value format of a datetime-local input. The pages
// show times in UTC, so the approver's input is read as UTC too.
const expiryLayout = "2006-01-02T15:04"

// decideInput is a decide form as the approver typed it, with messages per
// field, for the one request (ID) whose form came back with errors.
type decideInput struct {
	ID        int64
	Comment   string
	ExpiresAt string
	Errors    map[string]string
}

// of returns the input for request id: what was typed when the form of
// that request came back, else an empty form.
func (in decideInput) of(id int64) decideInput {
	if in.ID != id {
		return decideInput{}
	}
	return in
}

// handleDecide records an approval or rejection, with its comment and, on
// an approval, an optional shorter expiry, on the version the approver was
// looking at. A comment or expiry the store refuses comes back at its
// field, with 422, on the page the form was on.
func handleDecide(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		id, err := requestIDParam(c)
		if err != nil {
			return err
		}
		version, err := strconv.Atoi(c.FormValue("version"))
		if err != nil || version < 1 {
			return echo.NewHTTPError(http.StatusBadRequest, "The form did not say which version you decided on. Reload the page and try again.")
		}
		var approve bool
		switch c.FormValue("decision") {
		case "approve":
			approve = true
		case "reject":
		default:
			return echo.NewHTTPError(http.StatusBadRequest, "Choose approve or reject.")
		}
		in := decideInput{ID: id, Comment: strings.TrimSpace(c.FormValue("comment")),
			ExpiresAt: strings.TrimSpace(c.FormValue("expires_at")), Errors: map[string]string{}}
		dec := store.Decision{Approve: approve, Comment: in.Comment}
		if p := store.DecisionCommentFault("the comment", in.Comment); p != "" {
			in.Errors["comment"] = upperFirst(p) + "."
		}
		if approve && in.ExpiresAt != "" {
			t, err := parseExpiry(in.ExpiresAt)
			if err != nil {
				in.Errors["expires_at"] = "Enter a date and time (UTC) like 2030-01-31T17:00, or leave it empty to keep the asked-for expiry."
			} else {
				dec.ExpiresAt = &t
			}
		}
		if len(in.Errors) > 0 {
			return rerenderDecide(c, d, actor, in)
		}
		r, err := d.Store.Decide(c.Request().Context(), actor, id, version, dec)
		var verr *provision.ValidationError
		switch {
		case dec.ExpiresAt == nil:
		case errors.As(err, &verr) && len(verr.Problems) == 1 && verr.Problems[0].Field == "expires_at":
			in.Errors["expires_at"] = upperFirst(verr.Problems[0].Message) + "."
			return rerenderDecide(c, d, actor, in)
		case errors.Is(err, store.ErrInvalid) && !dbRefusal(err):
			// The store's rules of an approver's expiry (not longer than
			// asked, not past); a refusal of the database itself is the
			// decision's, not the field's, and goes to the flash below.
			_, msg, _ := userError(c, err)
			in.Errors["expires_at"] = msg
			return rerenderDecide(c, d, actor, in)
		}
		verb := "Rejected"
		if approve {
			verb = "Approved"
		}
		msg := fmt.Sprintf("%s request #%d (%s).", verb, id, r.Spec.Name)
		if approve && r.Status == store.StatusPending {
			msg = fmt.Sprintf("Approval recorded on request #%d; it needs more approvals.", id)
		}
		return finishAction(c, d, id, err, msg)
	}
}

// parseExpiry reads a datetime-local value, with or without seconds, as UTC.
func parseExpiry(s string) (time.Time, error) {
	t, err := time.ParseInLocation(expiryLayout, s, time.UTC)
	if err != nil {
		t, err = time.ParseInLocation(expiryLayout+":05", s, time.UTC)
	}
	return t, err
}

// rerenderDecide shows the page the decide form came from again, with
// 422 and the approver's input at its fields: the dashboard (with its
// filters) when the form was there, else the request page.
func rerenderDecide(c echo.Context, d Deps, actor store.Actor, in decideInput) error {
	if u, err := url.Parse(auth.LocalPath(c.FormValue("return"), "")); err == nil && u.Path == "/dashboard" &&
		(actor.Has(store.RoleApprover) || actor.Has(store.RoleAdmin)) {
		v, err := loadDashboard(c, d, actor, u.Query(), u.RequestURI())
		if err != nil {
			return err
		}
		v.Decide = in
		return render(c, http.StatusUnprocessableEntity, dashboardPage(v))
	}
	v, err := loadDetail(c, d, actor)
	if err != nil {
		return err
	}
	v.Decide = in
	return render(c, http.StatusUnprocessableEntity, detailPage(v))
}

// expiryValue formats t for a datetime-local input.
// shortenable returns the expiry an approval of r's current version may
// shorten, and what it is: the one asked for, or, for a change that keeps
// the expiry in force, that one. It returns nil when there is none.
func shortenable(r store.Request) (*time.Time, string) {
	if r.KeepsExpiry {
		if r.ExpiresAt == nil {
			return nil, ""
		}
		return r.ExpiresAt, "The change keeps the role's expiry, " + stamp(*r.ExpiresAt) + "."
	}
	if r.Spec.ExpiresAt == nil {
		return nil, ""
	}
	return r.Spec.ExpiresAt, "Asked for " + stamp(*r.Spec.ExpiresAt) + "."
}

func expiryValue(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(expiryLayout)
}

// dbRefusal reports whether err is a statement the database refused past
// the store's own checks (store.Error.Refusal).
func dbRefusal(err error) bool {
	var se *store.Error
	if !errors.As(err, &se) {
		return false
	}
	_, _, ok := se.Refusal()
	return ok
}
