package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/problem"
)

// ReviewView is the access review of one live role.
type ReviewView struct {
	RequestID  int64             `json:"request_id"`
	RoleName   string            `json:"role_name"`
	Owner      string            `json:"owner"`
	Status     store.Status      `json:"status"`
	State      store.ReviewState `json:"state"`
	Since      time.Time         `json:"since"`
	DueAt      time.Time         `json:"due_at"`
	RevokeAt   time.Time         `json:"revoke_at"`
	RemindedAt *time.Time        `json:"reminded_at,omitempty"`
}

// ReviewPage is one page of reviews, soonest due first.
type ReviewPage struct {
	// Enabled is false when the server runs without access reviews
	// (--review-interval 0): the list is then always empty.
	Enabled    bool         `json:"enabled"`
	Items      []ReviewView `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

func reviewView(rv store.Review) ReviewView {
	return ReviewView{RequestID: rv.RequestID, RoleName: rv.RoleName, Owner: rv.Owner, Status: rv.Status, State: rv.State,
		Since: rv.Since, DueAt: rv.DueAt, RevokeAt: rv.RevokeAt, RemindedAt: rv.RemindedAt}
}

// reviewBody is what confirm and let-go take: an optional note.
type reviewBody struct {
	Note string `json:"note"`
}

func handleAPIListReviews(st Store) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := newQuery(c, "owner", "state", "cursor", "limit")
		f := store.ReviewFilter{Owner: q.str("owner"), State: store.ReviewState(q.str("state")), Cursor: q.str("cursor"), Limit: q.int("limit", 1, 500)}
		if f.State != "" && f.State != store.ReviewUpcoming && f.State != store.ReviewDue {
			q.errs = append(q.errs, problem.Field{Field: "state", Message: "must be upcoming or due"})
		}
		if err := q.err(); err != nil {
			return err
		}
		// As with requests, requesters list their own reviews only.
		if err := ownOnly(apiActor(c), &f.Owner, "Requesters list the reviews of their own roles only; approvers and admins may list anyone's."); err != nil {
			return err
		}
		page, err := st.ListReviews(c.Request().Context(), f)
		if err != nil {
			return listError(c, err)
		}
		out := ReviewPage{Enabled: st.Reviews().On(), Items: []ReviewView{}, NextCursor: page.Next}
		for _, rv := range page.Reviews {
			out.Items = append(out.Items, reviewView(rv))
		}
		return c.JSON(http.StatusOK, out)
	}
}

// readReviewAnswer reads the request's ID and the note of a confirm or
// let-go, and refuses callers who may not read the request with the same
// answer as GET /requests/{id} gives them; the store then lets only the
// owner and admins answer.
func readReviewAnswer(c echo.Context, st Store) (int64, string, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return 0, "", err
	}
	var b reviewBody
	if err := decodeJSON(c, &b, true); err != nil {
		return 0, "", err
	}
	r, err := st.GetRequest(c.Request().Context(), id)
	if err != nil {
		return 0, "", err
	}
	if err := apiMayView(st, apiActor(c), r); err != nil {
		return 0, "", err
	}
	if p := store.ReviewNoteFault(b.Note); p != "" {
		return 0, "", &provision.ValidationError{Problems: []provision.FieldError{{Field: "note", Message: p}}}
	}
	return id, b.Note, nil
}

// reviewAnswer is the handler of one answer to a review: answer records
// the note for the request id, once readReviewAnswer has let the caller
// through.
func reviewAnswer(st Store, answer func(c echo.Context, id int64, note string) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, note, err := readReviewAnswer(c, st)
		if err != nil {
			return err
		}
		return answer(c, id, note)
	}
}

func handleAPIConfirmReview(st Store) echo.HandlerFunc {
	return reviewAnswer(st, func(c echo.Context, id int64, note string) error {
		rv, err := st.ConfirmReview(c.Request().Context(), apiActor(c), id, note)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, reviewView(rv))
	})
}

func handleAPILetGo(st Store) echo.HandlerFunc {
	return reviewAnswer(st, func(c echo.Context, id int64, note string) error {
		r, err := st.LetGo(c.Request().Context(), apiActor(c), id, note)
		if err != nil {
			return err
		}
		return renderWritten(c, st, http.StatusOK, r)
	})
}
