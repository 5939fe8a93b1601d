// Package api is rolegate's JSON API under /api/v1: bearer tokens, rate
// limits, idempotency keys, problem+json errors and the OpenAPI document
// the handlers follow. The server's middleware and the pages are package
// web's; cmd mounts both.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// Workflow is the request workflow as a front end drives it: read, list,
// decide, cancel, change, revoke, retry, under the store's rules. The
// pages' store interface embeds it too, so the two front ends name it once.
// *store.DB satisfies it.
type Workflow interface {
	CreateRequest(ctx context.Context, in store.NewRequest) (store.Created, error)
	GetRequest(ctx context.Context, id int64) (store.Request, error)
	ListRequests(ctx context.Context, f store.ListFilter) (store.RequestPage, error)
	ListVersions(ctx context.Context, id int64) ([]store.Version, error)
	Decide(ctx context.Context, actor store.Actor, id int64, version int, d store.Decision) (store.Request, error)
	Cancel(ctx context.Context, actor store.Actor, id int64) (store.Request, error)
	RequestChange(ctx context.Context, actor store.Actor, id int64, nv store.NewVersion) (store.Request, error)
	Revoke(ctx context.Context, actor store.Actor, id int64) (store.Request, error)
	Retry(ctx context.Context, actor store.Actor, id int64) (store.Request, error)
	Allowed(actor store.Actor, r store.Request) store.Actions
	// MayView is the one rule for reading a request and its history.
	MayView(actor store.Actor, r store.Request) bool
	// Progress is how far a request's current version is from approval.
	Progress(r store.Request) store.Progress
	// Rules are the approval rules: which groups own which buckets.
	Rules() store.ApprovalRules
	ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, error)
	ListActiveRoles(ctx context.Context, cursor string, limit int) (store.RequestPage, error)
	// RoleNameTaken: another live or pending request in the account
	// holds the name (the form's and the API's previews ask it).
	RoleNameTaken(ctx context.Context, account, name string, except int64) (bool, error)
	// IAMNameTaken: a new role's name in IAM (the prefix and the name) is
	// a live role's created under an earlier name prefix; it returns the
	// message CreateRequest gives at the name, or "".
	IAMNameTaken(ctx context.Context, account, name string) (string, error)

	// Access reviews: the policy, the reviews of live roles, and the
	// owner's (or an admin's) answers.
	Reviews() store.ReviewPolicy
	ListReviews(ctx context.Context, f store.ReviewFilter) (store.ReviewPage, error)
	GetReview(ctx context.Context, id int64) (store.Review, error)
	ConfirmReview(ctx context.Context, actor store.Actor, id int64, note string) (store.Review, error)
	LetGo(ctx context.Context, actor store.Actor, id int64, note string) (store.Request, error)
	// Assess, AssessSpec and ListAssessed give the access in words, the
	// risk flags and a change's verdict; ReusableRoles the requester's
	// live roles that already grant all of a request, within the viewer's
	// sight.
	Assess(ctx context.Context, viewer store.Actor, rs []store.Request) (map[int64]store.Assessment, error)
	AssessSpec(ctx context.Context, viewer store.Actor, spec provision.RoleSpec, changeOf store.Request) (store.Assessment, error)
	ListAssessed(ctx context.Context, viewer store.Actor, f store.ListFilter, risk string) (store.RequestPage, map[int64]store.Assessment, error)
	ReusableRoles(ctx context.Context, viewer store.Actor, requester, account string, scopes []provision.BucketScope, except int64) ([]store.Reuse, error)
}

// Store is what the JSON API needs of the store: the workflow, tokens,
// idempotency keys and the guardrails. *store.DB satisfies it.
type Store interface {
	Workflow
	Authenticate(ctx context.Context, token string) (store.Token, error)
	// OnTokenChanged has fn called with a token's ID when another change
	// to it (another server's revocation) is heard, 0 for all tokens.
	OnTokenChanged(fn func(id int64))
	ClaimIdempotencyKey(ctx context.Context, k store.IdempotencyKey) (store.StoredResponse, bool, error)
	CompleteIdempotencyKey(ctx context.Context, k store.IdempotencyKey, r store.StoredResponse) error
	ReleaseIdempotencyKey(ctx context.Context, k store.IdempotencyKey) error
	Settings() provision.Settings
}

// Limits tune the API; the zero value gives the defaults.
type Limits struct {
	// Rate is the sustained requests per second one token may make
	// (default 10) and Burst how many it may make at once (default 40).
	Rate  float64
	Burst int
	// MaxBody is the largest request body accepted; default 64 KiB.
	MaxBody int64
	// Now is the clock of the rate limiter; default time.Now.
	Now func() time.Time
}

func (l Limits) withDefaults() Limits {
	if l.Rate <= 0 {
		l.Rate = 10
	}
	if l.Burst <= 0 {
		l.Burst = 40
	}
	if l.MaxBody <= 0 {
		l.MaxBody = 64 << 10
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	return l
}

// Deps is what the API needs, built once in main.
type Deps struct {
	Logger *slog.Logger
	Store  Store
	Limits Limits
	// Tokens are the recently checked API tokens. The pages share it to
	// forget a token the moment it is revoked or its owner's roles shrink;
	// default a cache of the API's own.
	Tokens *TokenCache
}

// apiRoute is one operation of the API: the OpenAPI document lists the
// same set, and a test holds the two equal.
type apiRoute struct {
	method, path string
	handler      echo.HandlerFunc
	middleware   []echo.MiddlewareFunc
}

// Mount installs the JSON API under /api/v1 and its OpenAPI document at
// /api/openapi.json on e, whose middleware (request IDs, logging, the
// error handler) it relies on: pass it to web.New.
func (d Deps) Mount(e *echo.Echo) {
	st := d.Store
	lim := d.Limits.withDefaults()
	if d.Tokens == nil {
		d.Tokens = NewTokenCache(lim.Now)
	}
	// A token revoked or narrowed on another server (or the command
	// line) is forgotten as soon as its change is heard, not within the
	// cache's second.
	tokens := d.Tokens
	st.OnTokenChanged(func(id int64) {
		tokens.Forget(func(t store.Token) bool { return id == 0 || t.ID == id })
	})
	e.GET("/api/openapi.json", handleOpenAPIJSON(OpenAPI()))

	idem := idempotent(st, d.Logger)
	routes := []apiRoute{
		{http.MethodGet, "/me", handleAPIMe(), nil},
		{http.MethodPost, "/preview", handleAPIPreview(st), nil},
		{http.MethodGet, "/requests", handleAPIListRequests(st), nil},
		{http.MethodPost, "/requests", handleAPICreateRequest(st), []echo.MiddlewareFunc{idem}},
		{http.MethodGet, "/requests/:id", handleAPIGetRequest(st), nil},
		{http.MethodPost, "/requests/:id/changes", handleAPIRequestChange(st), []echo.MiddlewareFunc{idem}},
		{http.MethodPost, "/requests/:id/approve", handleAPIDecide(st, true), nil},
		{http.MethodPost, "/requests/:id/reject", handleAPIDecide(st, false), nil},
		{http.MethodPost, "/requests/:id/cancel", handleAPIAction(st, st.Cancel), nil},
		{http.MethodPost, "/requests/:id/revoke", handleAPIAction(st, st.Revoke), nil},
		{http.MethodPost, "/requests/:id/retry", handleAPIAction(st, st.Retry), nil},
		{http.MethodGet, "/requests/:id/terraform", handleAPITerraform(st, false), nil},
		{http.MethodGet, "/requests/:id/versions/:version/terraform", handleAPITerraform(st, true), nil},
		{http.MethodGet, "/roles", handleAPIListRoles(st), nil},
		{http.MethodGet, "/events", handleAPIListEvents(st), nil},
		{http.MethodGet, "/reviews", handleAPIListReviews(st), nil},
		{http.MethodPost, "/reviews/:id/confirm", handleAPIConfirmReview(st), nil},
		{http.MethodPost, "/reviews/:id/let-go", handleAPILetGo(st), nil},
	}
	g := e.Group("/api/v1", apiProblems(d.Logger), bearerAuth(st, d.Tokens), rateLimit(lim), bodyLimits(lim.MaxBody))
	for _, r := range routes {
		g.Add(r.method, r.path, r.handler, r.middleware...)
	}
}
