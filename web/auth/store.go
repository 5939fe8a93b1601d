package auth

import (
	"context"

	"github.com/rolegate/rolegate/store"
)

// SessionStore keeps browser sessions on the server, so that signing out
// ends them on every instance. *store.DB satisfies it.
type SessionStore interface {
	CreateSession(ctx context.Context, in store.NewSession) (store.Session, string, error)
	LookupSession(ctx context.Context, id string) (store.Session, error)
	EndSession(ctx context.Context, id string) error
}
