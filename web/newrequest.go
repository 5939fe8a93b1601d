package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/auth"
)

// preview is what the live preview shows: the problems, or the policies
// and Terraform the request would produce.
type preview struct {
	Empty    bool
	Problems []provision.FieldError
	RoleName string
	// Account names the plan's account ("" with one account only), and
	// RoleARN is the role's ARN there, as the plan predicts it.
	Account, RoleARN         string
	Trust, Policy, Terraform string
	// Approvals says what the request will need: "will need 2 approvals
	// from approvers and one from finance-owners".
	Approvals string
	// Assessment is the access in words and the risk flags.
	Assessment store.Assessment
	// Reuse lists the user's live roles that already grant all of it
	// (none for a change of one of them).
	Reuse []store.Reuse
}

// buildPreview renders the plan of the form's spec exactly as
// provisioning will, from the one Plan value; or lists its problems as the
// form would show them, one per field in the order of the fields, with a
// role name another request holds among them. The justification is not
// part of the preview.
func buildPreview(ctx context.Context, d Deps, f requestForm, actor store.Actor) (preview, error) {
	f.Errors, f.Problems = nil, nil
	spec := f.spec()
	if spec.Name == "" && (len(spec.Buckets) == 0 || spec.Buckets[0].Bucket == "") {
		return preview{Empty: true}, nil
	}
	// A preview is of a spec about to be submitted: Validate's rules for
	// new specs apply, which NewPlan leaves to stored ones. A change that
	// keeps the expiry in force asks for no expiry, as RequestChange sees
	// it (the one it repeats may have passed).
	var plan provision.Plan
	set := f.settings(d)
	check := f.checked(spec)
	err := check.Validate(set)
	if err == nil {
		plan, err = provision.NewPlan(check, set, provision.PlanMeta{RequestID: "preview", Requester: actor.Name})
	}
	if err != nil && !f.setProblems(err) {
		return preview{}, err
	}
	if _, bad := f.Errors["name"]; spec.Name != "" && !bad {
		taken, err := d.Store.RoleNameTaken(ctx, spec.Account, spec.Name, f.changeOf())
		if err != nil {
			return preview{}, err
		}
		if taken {
			f.addError("name", api.NameTaken(d.Settings, spec.Account))
		} else if f.changeOf() == 0 {
			// A change keeps the name its role has in IAM.
			msg, err := d.Store.IAMNameTaken(ctx, spec.Account, spec.Name)
			if err != nil {
				return preview{}, err
			}
			if msg != "" {
				f.addError("name", msg)
			}
		}
	}
	if f.hasErrors() {
		return preview{Problems: orderedProblems(f.Problems)}, nil
	}
	tf, err := provision.Terraform(plan)
	if err != nil {
		return preview{}, err
	}
	a, err := d.Store.AssessSpec(ctx, actor, spec, f.Changed)
	if err != nil {
		return preview{}, err
	}
	var reuse []store.Reuse
	if f.changeOf() == 0 {
		if reuse, err = d.Store.ReusableRoles(ctx, actor, actor.Name, spec.Account, spec.Buckets, 0); err != nil {
			return preview{}, err
		}
	}
	pv := preview{RoleName: plan.Role.Name, RoleARN: plan.RoleARN(), Trust: prettyJSON(plan.Role.TrustPolicy), Policy: prettyJSON(plan.Policy.Document),
		Terraform: string(tf), Approvals: "This request " + d.Store.Rules().Progress(spec, nil).Requirement() + ".",
		Assessment: a, Reuse: reuse}
	if len(d.Settings.Accounts) > 1 {
		pv.Account = plan.Account.Name
	}
	return pv, nil
}

// accountLabel names an account for a chooser: "prod (222222222222)",
// its name alone when its ID is not configured.
func accountLabel(set provision.Settings, name string) string {
	if a, ok := set.Account(name); ok && a.ID != "" {
		return name + " (" + a.ID + ")"
	}
	return name
}

func handleNewRequestForm(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		return render(c, http.StatusOK, requestFormPage("New request", newRequestForm(), d.Settings, preview{Empty: true}))
	}
}

// handlePreview answers the live preview's requests with the panel alone.
func handlePreview(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		f, err := parseRequestForm(c)
		if err != nil {
			return err
		}
		// The change form's preview names its request: its own name is
		// not taken.
		r, err := changeOf(c, d, actor)
		if err != nil {
			return err
		}
		f.Changed = r
		pv, err := buildPreview(c.Request().Context(), d, f, actor)
		if err != nil {
			return err
		}
		if f.hasErrors() {
			// A value the form could not read (a session out of range)
			// would otherwise be previewed as if left empty.
			pv = preview{Problems: append(f.Problems, pv.Problems...)}
		}
		return render(c, http.StatusOK, previewPanel(pv))
	}
}

// editRows handles the form's own buttons, which work without
// JavaScript: add a scope row or remove one. It reports whether it did.
func editRows(c echo.Context, f *requestForm) bool {
	if c.FormValue("op") == "add" {
		f.Scopes = append(f.Scopes, scopeRow{Access: string(provision.AccessRead)})
		f.Focus = rowID("bucket", len(f.Scopes)-1)
		return true
	}
	if rm := c.FormValue("remove"); rm != "" {
		i, err := strconv.Atoi(rm)
		if err == nil && i >= 0 && i < len(f.Scopes) && len(f.Scopes) > 1 {
			f.Scopes = append(f.Scopes[:i], f.Scopes[i+1:]...)
		}
		// The focus goes to the row that took the removed one's place,
		// or to the row before it when it was the last.
		f.Focus = rowID("bucket", max(0, min(i, len(f.Scopes)-1)))
		return true
	}
	return false
}

// handleCreateRequest submits a new request, or re-renders the form with
// the user's input and each problem at its field (422).
func handleCreateRequest(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		f, err := parseRequestForm(c)
		if err != nil {
			return err
		}
		spec := f.spec()
		return answerRequestForm(c, d, actor, f, spec, "New request", func(f *requestForm) (bool, error) {
			r, err := d.Store.CreateRequest(c.Request().Context(), store.NewRequest{Spec: spec, Justification: f.Justification, Requester: actor.Name})
			switch {
			case err == nil:
				d.Auth.SetFlash(c, "ok", fmt.Sprintf("Request #%d for %s submitted. Approvers have been asked.", r.ID, r.Spec.Name))
				return true, c.Redirect(http.StatusSeeOther, fmt.Sprintf("/requests/%d", r.ID))
			case errors.Is(err, store.ErrConflict):
				f.addError("name", api.NameTaken(d.Settings, spec.Account))
				return false, nil
			}
			return false, err
		})
	}
}

// answerRequestForm answers a posted request form (a new request or a
// change): a click that adds or removes a scope row shows the form again;
// a form without errors of its own goes to send, which answers (done) or
// leaves problems to show at their fields with 422, as does a form with
// errors, with the spec's other problems. send's other errors pass up.
func answerRequestForm(c echo.Context, d Deps, actor store.Actor, f requestForm, spec provision.RoleSpec, title string,
	send func(f *requestForm) (done bool, err error)) error {
	status := http.StatusOK
	if !editRows(c, &f) {
		if !f.hasErrors() {
			done, err := send(&f)
			if done || (err != nil && !f.setProblems(err)) {
				return err
			}
		} else {
			// Report the spec's and the justification's other problems
			// with the form's own.
			f.setProblems(store.ValidateRequest(f.settings(d), f.checked(spec), f.Justification))
		}
		status = http.StatusUnprocessableEntity
	}
	pv, err := buildPreview(c.Request().Context(), d, f, actor)
	if err != nil {
		return err
	}
	return render(c, status, requestFormPage(title, f, f.settings(d), pv))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func invalid(errs map[string]string, key string) string {
	if _, ok := errs[key]; ok {
		return "true"
	}
	return "false"
}
