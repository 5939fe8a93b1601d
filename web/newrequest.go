package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// preview is what the live preview shows: the problems, or the policies
// and Terraform the request would produce.
type preview struct {
	Empty                    bool
	Problems                 []provision.FieldError
	RoleName                 string
	Trust, Policy, Terraform string
	// Approvals says what the request will need: "will need 2 approvals
	// from approvers and one from finance-owners".
	Approvals string
}

// buildPreview renders the plan of spec exactly as provisioning will, from
// the one Plan value.
func buildPreview(spec provision.RoleSpec, set provision.Settings, rules store.ApprovalRules, user string) (preview, error) {
	if spec.Name == "" && (len(spec.Buckets) == 0 || spec.Buckets[0].Bucket == "") {
		return preview{Empty: true}, nil
	}
	plan, err := provision.NewPlan(spec, set, provision.PlanMeta{RequestID: "preview", Requester: user})
	var verr *provision.ValidationError
	if errors.As(err, &verr) {
		return preview{Problems: verr.Problems}, nil
	}
	if err != nil {
		return preview{}, err
	}
	tf, err := provision.Terraform(plan)
	if err != nil {
		return preview{}, err
	}
	return preview{RoleName: plan.Role.Name, Trust: prettyJSON(plan.Role.TrustPolicy), Policy: prettyJSON(plan.Policy.Document),
		Terraform: string(tf), Approvals: "This request " + rules.Progress(spec, nil).Requirement() + "."}, nil
}

func handleNewRequestForm(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		return render(c, http.StatusOK, requestFormPage("New request", newRequestForm(), d.Settings, preview{Empty: true}))
	}
}

// handlePreview answers the live preview's requests with the panel alone.
func handlePreview(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := actorOf(c)
		f, err := parseRequestForm(c, false)
		if err != nil {
			return err
		}
		pv, err := buildPreview(f.spec(), d.Settings, d.Store.Rules(), actor.Name)
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
		return true
	}
	if rm := c.FormValue("remove"); rm != "" {
		if i, err := strconv.Atoi(rm); err == nil && i >= 0 && i < len(f.Scopes) && len(f.Scopes) > 1 {
			f.Scopes = append(f.Scopes[:i], f.Scopes[i+1:]...)
		}
		return true
	}
	return false
}

// handleCreateRequest submits a new request, or re-renders the form with
// the user's input and each problem at its field (422).
func handleCreateRequest(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := actorOf(c)
		editing := c.FormValue("op") == "add" || c.FormValue("remove") != ""
		f, err := parseRequestForm(c, editing)
		if err != nil {
			return err
		}
		spec := f.spec()
		status := http.StatusOK
		if !editRows(c, &f) {
			if !f.hasErrors() {
				r, err := d.Store.CreateRequest(c.Request().Context(), store.NewRequest{Spec: spec, Justification: f.Justification, Requester: actor.Name})
				switch {
				case err == nil:
					d.auth.setFlash(c, "ok", fmt.Sprintf("Request #%d for %s submitted. Approvers have been asked.", r.ID, r.Spec.Name))
					return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/requests/%d", r.ID))
				case errors.Is(err, store.ErrConflict):
					f.addError("name", "a role with this name is already requested or live; choose another name")
				case !f.setProblems(err):
					return err
				}
			} else {
				// Report the spec's other problems with the form's own.
				f.setProblems(spec.Validate(d.Settings))
			}
			status = http.StatusUnprocessableEntity
		}
		pv, err := buildPreview(f.spec(), d.Settings, d.Store.Rules(), actor.Name)
		if err != nil {
			return err
		}
		return render(c, status, requestFormPage("New request", f, d.Settings, pv))
	}
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
