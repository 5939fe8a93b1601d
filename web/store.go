package web

import (
	"context"

	"github.com/rolegate/rolegate/store"
)

// Store is the web's view of the store: the workflow functions the pages
// call. *store.DB satisfies it.
type Store interface {
	CreateRequest(ctx context.Context, in store.NewRequest) (store.Created, error)
	GetRequest(ctx context.Context, id int64) (store.Request, error)
	ListRequests(ctx context.Context, f store.ListFilter) (store.RequestPage, error)
	CountByStatus(ctx context.Context) (map[store.Status]int, error)
	// CountRoutedByStatus counts what a data owner's dashboard lists.
	CountRoutedByStatus(ctx context.Context, a store.Actor) (map[store.Status]int, error)
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
	// RoleNameTaken: another live or pending request holds the name.
	RoleNameTaken(ctx context.Context, name string, except int64) (bool, error)

	// The API tokens settings page.
	CreateToken(ctx context.Context, in store.NewToken) (store.Token, string, error)
	ListTokens(ctx context.Context, user string) ([]store.Token, error)
	RevokeToken(ctx context.Context, id int64, owner, actor string) (store.Token, error)

	// The sessions page.
	ListSessions(ctx context.Context, user string, limit int) ([]store.Session, error)
	EndUserSessions(ctx context.Context, user, actor string) (int, error)
}
