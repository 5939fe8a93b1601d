package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/auth"
	"github.com/rolegate/rolegate/web/problem"
)

// specBody is the create and change body: the spec's JSON form plus why.
// Its expires_at shadows the spec's, so a value of the wrong shape is a
// problem of that field; spec() puts it back in place.
type specBody struct {
	provision.RoleSpec
	Justification string    `json:"justification"`
	ExpiresAt     expiresAt `json:"expires_at,omitempty"`
}

// spec is the role spec the body asks for.
func (b specBody) spec() provision.RoleSpec {
	s := b.RoleSpec
	s.ExpiresAt = b.ExpiresAt.t
	return s
}

// decisionBody is what approve and reject take.
type decisionBody struct {
	Comment string `json:"comment"`
	// Version is the version the approver reviewed: required when the
	// request has more than one (versionRequired), otherwise default 1.
	Version int `json:"version,omitempty"`
	// ExpiresAt shortens the requested expiry (approve only).
	ExpiresAt expiresAt `json:"expires_at,omitempty"`
}

// pathID parses the path parameter name, a request's ID (the reviews'
// routes name a review by its request too).
func pathID(c echo.Context, name string) (int64, error) {
	id, ok := store.ParseID(c.Param(name))
	if !ok {
		return 0, newAPIError(http.StatusNotFound, "not-found", fmt.Sprintf("%q is not a request ID (a whole number from 1).", c.Param(name)))
	}
	return id, nil
}

// detail renders one request with its versions, decisions, plan and
// history, as GET /requests/{id} and every action answer it.
func detail(ctx context.Context, st Store, actor store.Actor, r store.Request) (RequestDetail, error) {
	versions, err := st.ListVersions(ctx, r.ID)
	if err != nil {
		return RequestDetail{}, err
	}
	events, err := st.ListEvents(ctx, store.EventFilter{RequestID: r.ID, Limit: 1000})
	if err != nil {
		return RequestDetail{}, err
	}
	return detailOf(ctx, st, actor, r, versions, events)
}

func detailOf(ctx context.Context, st Store, actor store.Actor, r store.Request, versions []store.Version, events []store.Event) (RequestDetail, error) {
	as, err := st.Assess(ctx, actor, []store.Request{r})
	if err != nil {
		return RequestDetail{}, err
	}
	reuse, err := reuseViews(ctx, st, actor, r.Requester, r.Spec.Account, r.Spec.Buckets, r.ID)
	if err != nil {
		return RequestDetail{}, err
	}
	v := RequestDetail{RequestView: requestView(st, actor, r, as),
		Decisions: []DecisionView{}, Versions: []VersionView{}, History: []EventView{}, Reuse: reuse}
	for _, ver := range versions {
		v.Versions = append(v.Versions, versionView(ver))
		if ver.Number == r.Version {
			v.Decisions = decisionViews(ver.Decisions)
		}
	}
	for _, e := range events {
		v.History = append(v.History, eventView(e))
	}
	v.Plan = currentPlan(st, r, versions)
	return v, nil
}

// requesterOnly refuses a token without the requester role: only
// requesters ask for roles, as on the pages.
func requesterOnly(c echo.Context) error {
	if !apiActor(c).Has(store.RoleRequester) {
		return newAPIError(http.StatusForbidden, "forbidden", "This token does not carry the requester role, which asking for a role needs.")
	}
	return nil
}

// readSpecBody reads the body of a create or change, which only
// requesters may send. The store validates the spec and the
// justification together, so every problem is reported at once.
func readSpecBody(c echo.Context) (specBody, error) {
	var b specBody
	if err := requesterOnly(c); err != nil {
		return b, err
	}
	err := decodeJSON(c, &b, false)
	return b, err
}

func handleAPICreateRequest(st Store) echo.HandlerFunc {
	return func(c echo.Context) error {
		b, err := readSpecBody(c)
		if err != nil {
			return err
		}
		created, err := st.CreateRequest(c.Request().Context(), store.NewRequest{
			Spec: b.spec(), Justification: b.Justification, Requester: apiActor(c).Name, Idempotency: claimedKey(c)})
		if err != nil {
			return err
		}
		c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/requests/%d", created.ID))
		// The answer is built from what was written, not read back: a new
		// request has one version and one event.
		ctx, cancel := afterWrite(c)
		defer cancel()
		v, err := detailOf(ctx, st, apiActor(c), created.Request,
			[]store.Version{created.First}, []store.Event{created.Submitted})
		if err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, v)
	}
}

func handleAPIRequestChange(st Store) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		b, err := readSpecBody(c)
		if err != nil {
			return err
		}
		r, err := st.RequestChange(c.Request().Context(), apiActor(c), id,
			store.NewVersion{Spec: b.spec(), Justification: b.Justification, Idempotency: claimedKey(c)})
		if err != nil {
			return err
		}
		return renderCreated(c, st, r)
	}
}

func handleAPIGetRequest(st Store) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		r, err := st.GetRequest(c.Request().Context(), id)
		if err != nil {
			return err
		}
		if err := apiMayView(st, apiActor(c), r); err != nil {
			return err
		}
		return renderDetail(c, st, http.StatusOK, r)
	}
}

// apiMayView applies the one read rule (store.DB.MayView) to the API.
func apiMayView(st Store, actor store.Actor, r store.Request) error {
	if !st.MayView(actor, r) {
		return newAPIError(http.StatusForbidden, "forbidden", problem.ForbiddenView)
	}
	return nil
}

// readDecisionBody reads the body of an approval (approve) or a
// rejection. It returns a *provision.ValidationError naming the field for
// a comment the store would refuse, a negative version, or an expiry on a
// rejection, and decodeJSON's error for a body that is not one.
func readDecisionBody(c echo.Context, approve bool) (decisionBody, error) {
	var b decisionBody
	if err := decodeJSON(c, &b, true); err != nil {
		return b, err
	}
	if p := store.DecisionCommentFault("comment", b.Comment); p != "" {
		return b, &provision.ValidationError{Problems: []provision.FieldError{{Field: "comment", Message: p}}}
	}
	if b.Version < 0 {
		return b, &provision.ValidationError{Problems: []provision.FieldError{{Field: "version", Message: fmt.Sprintf("must be a version number of the request (1, 2, ...); %d is not", b.Version)}}}
	}
	if !approve && b.ExpiresAt.t != nil {
		return b, &provision.ValidationError{Problems: []provision.FieldError{{Field: "expires_at", Message: "only an approval may shorten the expiry"}}}
	}
	return b, nil
}

// versionRequired is why a decision on a request of more than one version
// must name the version it decides: "the current" is whatever the
// requester submitted last, which may have come after the approver read
// the request (a cancelled change and a wider one in its place), so it
// would be decided unseen. A request of one version has never held
// another, so it may leave version out.
func versionRequired(current int) string {
	return fmt.Sprintf("is required: this request has more than one version, so name the one you reviewed (the current is %d); a version submitted after you read the request is then not decided unseen", current)
}

func handleAPIDecide(st Store, approve bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		b, err := readDecisionBody(c, approve)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		version := b.Version
		if version == 0 {
			r, err := st.GetRequest(ctx, id)
			if err != nil {
				return err
			}
			if err := apiMayView(st, apiActor(c), r); err != nil {
				return err
			}
			if r.Version > 1 {
				return &provision.ValidationError{Problems: []provision.FieldError{{Field: "version", Message: versionRequired(r.Version)}}}
			}
			version = r.Version
		}
		r, err := st.Decide(ctx, apiActor(c), id, version, store.Decision{Approve: approve, Comment: b.Comment, ExpiresAt: b.ExpiresAt.t})
		if err != nil {
			return err
		}
		return renderWritten(c, st, http.StatusOK, r)
	}
}

// handleAPIAction serves cancel, revoke and retry: no parameters, one
// store call that enforces who may.
func handleAPIAction(st Store, act func(context.Context, store.Actor, int64) (store.Request, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		var none struct{}
		if err := decodeJSON(c, &none, true); err != nil {
			return err
		}
		r, err := act(c.Request().Context(), apiActor(c), id)
		if err != nil {
			return err
		}
		return renderWritten(c, st, http.StatusOK, r)
	}
}

// query reads the list filters, refusing unknown parameters, repeated
// ones and bad values with 400.
type query struct {
	c    echo.Context
	errs []problem.Field
}

// newQuery reads the query of c, whose parameters are allowed. Each takes
// one value: a repeat (?account=dev&account=prod) is refused rather than
// read as its first value, which would list something the caller did not
// ask for.
func newQuery(c echo.Context, allowed ...string) *query {
	q := &query{c: c}
	params := c.QueryParams()
	for _, a := range allowed {
		if n := len(params[a]); n > 1 {
			q.errs = append(q.errs, problem.Field{Field: a, Message: fmt.Sprintf("given %d times; give %s once", n, a)})
		}
	}
	for name := range params {
		if !slices.Contains(allowed, name) {
			q.errs = append(q.errs, problem.Field{Field: name, Message: "unknown query parameter"})
		}
	}
	return q
}

func (q *query) str(name string) string {
	s := q.c.QueryParam(name)
	if p := auth.TextFault(s); p != "" {
		q.errs = append(q.errs, problem.Field{Field: name, Message: p})
	}
	return s
}

func (q *query) int(name string, min, max int) int {
	s := q.c.QueryParam(name)
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		q.errs = append(q.errs, problem.Field{Field: name, Message: fmt.Sprintf("must be a whole number from %d to %d", min, max)})
	}
	return n
}

// id reads an ID parameter: a canonical decimal (store.ParseID), so
// `+1` and `01` are not aliases of 1.
func (q *query) id(name string) int64 {
	s := q.c.QueryParam(name)
	if s == "" {
		return 0
	}
	id, ok := store.ParseID(s)
	if !ok {
		q.errs = append(q.errs, problem.Field{Field: name, Message: "must be an ID: a whole number from 1, without sign or leading zeros"})
	}
	return id
}

func (q *query) time(name string) time.Time {
	s := q.c.QueryParam(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		q.errs = append(q.errs, problem.Field{Field: name, Message: "must be an RFC 3339 time, e.g. 2030-01-02T15:04:05Z"})
	}
	return t
}

func (q *query) err() error {
	if len(q.errs) == 0 {
		return nil
	}
	e := newAPIError(http.StatusBadRequest, "bad-query", "The query has invalid parameters; see errors.")
	e.fields = q.errs
	return e
}

func handleAPIListRoles(st Store) echo.HandlerFunc {
	return func(c echo.Context) error {
		q := newQuery(c, "cursor", "limit")
		cursor, limit := q.str("cursor"), q.int("limit", 1, 500)
		if err := q.err(); err != nil {
			return err
		}
		page, err := st.ListActiveRoles(c.Request().Context(), cursor, limit)
		if err != nil {
			return err
		}
		out := RolePage{Items: []RoleView{}, NextCursor: page.Next}
		for _, r := range page.Requests {
			out.Items = append(out.Items, roleView(r))
		}
		return c.JSON(http.StatusOK, out)
	}
}
