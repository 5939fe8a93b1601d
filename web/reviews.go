package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/auth"
	"github.com/rolegate/rolegate/web/problem"
)

// reviewsView is the Reviews page: the access reviews of the viewer's live
// roles (or, for an admin who asks, everyone's), soonest due first.
type reviewsView struct {
	On     bool
	Policy store.ReviewPolicy
	// All: an admin's view of everyone's reviews; Due keeps due ones only.
	All, Due bool
	IsAdmin  bool
	// MayKeep: the viewer may confirm a role is still needed
	// (store.MayKeep); an owner who lost the requester role may only let
	// it go.
	MayKeep bool
	Page    store.ReviewPage
	Cursor  string
	// Failed is the answer form that came back with its note refused.
	Failed reviewForm
}

// reviewForm is one review's answer as submitted, with its problem.
type reviewForm struct {
	ID       int64
	RoleName string
	Note     string
	// Problem is what is wrong with the note, lower case: the field shows
	// it as a sentence, the page's top with the role's name.
	Problem string
}

// noteFor is the note to show in review id's form: the one refused, kept.
func (f reviewForm) noteFor(id int64) string {
	if f.ID != id {
		return ""
	}
	return f.Note
}

// errorsFor are the per-field problems of review id's form.
func (f reviewForm) errorsFor(id int64) map[string]string {
	if f.ID != id || f.Problem == "" {
		return nil
	}
	return map[string]string{"note": upperFirst(f.Problem) + "."}
}

// pageError is the refused answer's message when the page has no form for
// it to stand at: the review is not due (yet, or any more since it was
// answered in another tab), or on another page of the list. "" when the
// form shows it, or nothing was refused.
func (v reviewsView) pageError() string {
	if v.Failed.Problem == "" {
		return ""
	}
	for _, rv := range v.Page.Reviews {
		if rv.RequestID == v.Failed.ID && rv.State == store.ReviewDue {
			return ""
		}
	}
	return fmt.Sprintf("Nothing was saved for %s: %s.", v.Failed.RoleName, v.Failed.Problem)
}

// here is the page's own address with its filters, where answers return.
func (v reviewsView) here(cursor string) string {
	q := url.Values{}
	if v.All {
		q.Set("all", "1")
	}
	if v.Due {
		q.Set("state", string(store.ReviewDue))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if len(q) == 0 {
		return "/reviews"
	}
	return "/reviews?" + q.Encode()
}

// handleReviews lists the reviews of the viewer's live roles; an admin's
// ?all=1 lists everyone's, and ?state=due only those due.
func handleReviews(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		return renderReviews(c, d, c.QueryParams(), reviewForm{}, http.StatusOK)
	}
}

func renderReviews(c echo.Context, d Deps, q url.Values, failed reviewForm, status int) error {
	if err := onceEach(q, "state", "cursor", "all"); err != nil {
		return err
	}
	actor, _ := auth.ActorOf(c)
	v := reviewsView{Policy: d.Store.Reviews(), IsAdmin: actor.Has(store.RoleAdmin), MayKeep: store.MayKeep(actor), Failed: failed,
		Due: q.Get("state") == string(store.ReviewDue), Cursor: q.Get("cursor")}
	v.On = v.Policy.On()
	v.All = v.IsAdmin && q.Get("all") == "1"
	f := store.ReviewFilter{Owner: actor.Name, Cursor: v.Cursor, Limit: pageSize}
	if v.All {
		f.Owner = ""
	}
	if v.Due {
		f.State = store.ReviewDue
	}
	var err error
	if v.Page, err = d.Store.ListReviews(c.Request().Context(), f); err != nil {
		return err
	}
	return render(c, status, reviewsPage(v))
}

// handleReviewAnswer confirms a review or lets the role go, with the
// form's note. Someone who may not read the request gets the page reading
// it would give them; the store lets only the owner and admins answer.
func handleReviewAnswer(d Deps, confirm bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		id, err := requestIDParam(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		r, err := d.Store.GetRequest(ctx, id)
		if err != nil {
			return err
		}
		if !d.Store.MayView(actor, r) {
			return echo.NewHTTPError(http.StatusForbidden, problem.ForbiddenView)
		}
		back := auth.LocalPath(c.FormValue("return"), "/reviews")
		note := c.FormValue("note")
		if p := store.ReviewNoteFault(note); p != "" {
			u, _ := url.Parse(back)
			return renderReviews(c, d, u.Query(), reviewForm{ID: id, RoleName: r.Spec.Name, Note: note, Problem: p}, http.StatusUnprocessableEntity)
		}
		var ok string
		if confirm {
			_, err = d.Store.ConfirmReview(ctx, actor, id, note)
			ok = fmt.Sprintf("Confirmed: %s stays. Its next review is due in %s.", r.Spec.Name, durationWords(d.Store.Reviews().Interval))
		} else {
			_, err = d.Store.LetGo(ctx, actor, id, note)
			ok = fmt.Sprintf("Let go: %s is being removed.", r.Spec.Name)
		}
		c.Request().Form.Set("return", back)
		return finishAction(c, d, id, err, ok)
	}
}

// durationWords says a duration as people do, largest unit first, each
// unit that is not zero: "1 hour", "90 days", "1 day and 6 hours". Less
// than a second is left out (review settings are whole hours or more).
func durationWords(d time.Duration) string {
	var parts []string
	for _, u := range durationUnits {
		if n := d / u.size; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, u.name))
			if n != 1 {
				parts[len(parts)-1] += "s"
			}
			d -= n * u.size
		}
	}
	if len(parts) == 0 {
		return "0 seconds"
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

// everyWords says how often something happens every d: "every hour",
// "every day" for one of a unit, else "every 12 hours", "every 1 day and
// 6 hours".
func everyWords(d time.Duration) string {
	d = d.Truncate(time.Second)
	for _, u := range durationUnits {
		if d == u.size {
			return "every " + u.name
		}
	}
	return "every " + durationWords(d)
}

var durationUnits = []struct {
	size time.Duration
	name string
}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}}

// upperFirst capitalises a message's first letter, to stand as a sentence.
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func reviewWord(n int) string {
	if n == 1 {
		return "review"
	}
	return "reviews"
}
