package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/auth"
)

func requestIDParam(c echo.Context) (int64, error) {
	id, ok := store.ParseID(c.Param("id"))
	if !ok {
		return 0, store.ErrNotFound
	}
	return id, nil
}

// finishAction turns an action's outcome into a flash message and a
// redirect back: a success or a state that changed meanwhile (someone
// else decided first) is news for the page; a refusal is a 403 page and
// anything else goes to the error handler.
func finishAction(c echo.Context, d Deps, id int64, err error, ok string) error {
	back := auth.LocalPath(c.FormValue("return"), fmt.Sprintf("/requests/%d", id))
	switch {
	case err == nil:
		d.Auth.SetFlash(c, "ok", ok)
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrInvalid):
		_, msg, _ := userError(c, err)
		d.Auth.SetFlash(c, "error", msg)
	default:
		return err
	}
	return c.Redirect(http.StatusSeeOther, back)
}

// handleStep answers a button that takes one step on the request of the
// :id parameter as the signed-in user (cancel, revoke, retry): done
// returns the message shown on success from the request's ID and the
// request as the step left it.
func handleStep(d Deps, step func(ctx context.Context, actor store.Actor, id int64) (store.Request, error), done func(id int64, r store.Request) string) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		id, err := requestIDParam(c)
		if err != nil {
			return err
		}
		r, err := step(c.Request().Context(), actor, id)
		msg := ""
		if err == nil {
			msg = done(id, r)
		}
		return finishAction(c, d, id, err, msg)
	}
}

// stepDone is the success message of a step that says the same of every
// request: format, with the request's ID for its %d.
func stepDone(format string) func(int64, store.Request) string {
	return func(id int64, _ store.Request) string { return fmt.Sprintf(format, id) }
}

// cancelled is the success message of a cancel: of a pending request, or
// of the pending change of a live role, which keeps its current access.
func cancelled(id int64, r store.Request) string {
	if r.LiveVersion != 0 {
		return fmt.Sprintf("Change to request #%d cancelled; the role keeps its current access.", id)
	}
	return fmt.Sprintf("Request #%d cancelled.", id)
}

// loadChangeable returns the request when actor may change it now.
func loadChangeable(c echo.Context, d Deps, actor store.Actor) (store.Request, error) {
	id, err := requestIDParam(c)
	if err != nil {
		return store.Request{}, err
	}
	r, err := d.Store.GetRequest(c.Request().Context(), id)
	if err != nil {
		return store.Request{}, err
	}
	if !d.Store.Allowed(actor, r).Change {
		if r.Requester != actor.Name {
			return store.Request{}, echo.NewHTTPError(http.StatusForbidden, "Only the requester can change a role.")
		}
		if !actor.Has(store.RoleRequester) {
			return store.Request{}, echo.NewHTTPError(http.StatusForbidden,
				"A change asks for access, which needs the requester role, and you no longer hold it. Ask an admin to add you to a requester group.")
		}
		return store.Request{}, echo.NewHTTPError(http.StatusConflict, fmt.Sprintf("Request #%d is %s; only active roles can be changed.", r.ID, r.Status))
	}
	return r, nil
}

// changeOf returns the request the change form's preview names in
// change_of when actor may change it now (the rule of loadChangeable), and
// 0 when it names none, one that does not exist or one actor may not
// change: the preview then reads as the new-request form's. Honoured for
// any request, it would tell whose request holds a taken name (the name
// warning goes away for the right one). It returns the store's other
// errors.
func changeOf(c echo.Context, d Deps, actor store.Actor) (store.Request, error) {
	id, ok := store.ParseID(c.FormValue("change_of"))
	if !ok {
		return store.Request{}, nil
	}
	return api.Changeable(c.Request().Context(), d.Store, actor, id)
}

func handleChangeForm(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		r, err := loadChangeable(c, d, actor)
		if err != nil {
			return err
		}
		f := formFromRequest(r)
		pv, err := buildPreview(c.Request().Context(), d, f, actor)
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, requestFormPage("Change "+r.Spec.Name, f, f.settings(d), pv))
	}
}

// handleChange submits a new version of an active role for approval.
func handleChange(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		r, err := loadChangeable(c, d, actor)
		if err != nil {
			return err
		}
		f, err := parseRequestForm(c)
		if err != nil {
			return err
		}
		f.Changed, f.Name = r, r.Spec.Name
		spec := f.spec()
		// The spec keeps the account sent, so a change naming another is
		// refused at its field; the form shows the role's own, which it
		// cannot change.
		f.Account = r.Spec.Account
		return answerRequestForm(c, d, actor, f, spec, "Change "+r.Spec.Name, func(*requestForm) (bool, error) {
			_, err := d.Store.RequestChange(c.Request().Context(), actor, r.ID, store.NewVersion{Spec: spec, Justification: f.Justification})
			switch {
			case err == nil:
				d.Auth.SetFlash(c, "ok", fmt.Sprintf("Change to %s submitted for approval. The role keeps its current access until then.", r.Spec.Name))
				return true, c.Redirect(http.StatusSeeOther, fmt.Sprintf("/requests/%d", r.ID))
			case errors.Is(err, store.ErrConflict):
				return true, finishAction(c, d, r.ID, err, "")
			}
			return false, err
		})
	}
}
