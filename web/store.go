package web

import (
	"context"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/api"
)

// Store is the pages' view of the store: the workflow the API drives too,
// and what only pages show (counts, token and session pages). *store.DB
// satisfies it.
type Store interface {
	api.Workflow
	CountByStatus(ctx context.Context) (map[store.Status]int, error)
	// CountRoutedByStatus counts what a data owner's dashboard lists.
	CountRoutedByStatus(ctx context.Context, a store.Actor) (map[store.Status]int, error)
	// CountDueReviews counts the reviews the admins' dashboard calls
	// overdue.
	CountDueReviews(ctx context.Context) (int, error)

	// The API tokens settings page.
	CreateToken(ctx context.Context, in store.NewToken) (store.Token, string, error)
	ListTokens(ctx context.Context, user string) ([]store.Token, error)
	RevokeToken(ctx context.Context, id int64, owner, actor string) (store.Token, error)

	// The sessions page.
	ListSessions(ctx context.Context, user string, limit int) ([]store.Session, error)
	EndUserSessions(ctx context.Context, user, actor string) (int, error)
}
