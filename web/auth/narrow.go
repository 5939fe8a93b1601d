package auth

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/rolegate/rolegate/store"
)

// narrower keeps API tokens within what their users hold now. A token
// carries the roles and groups of when it was made; each time a browser
// shows a user with other roles or groups than this process last saw,
// the tokens that user made lose what the user no longer holds. One
// database write per user and change, not per request.
type narrower struct {
	narrow func(ctx context.Context, user string, roles []store.Role, groups []string) (int, error)
	log    *slog.Logger

	mu   sync.Mutex
	seen map[string]string // user: the roles and groups last applied
}

// narrowerMaxUsers bounds the memory of users seen; past it the memory
// starts again, which costs one idempotent write per user.
const narrowerMaxUsers = 10_000

func newNarrower(narrow func(context.Context, string, []store.Role, []string) (int, error), log *slog.Logger) *narrower {
	return &narrower{narrow: narrow, log: log, seen: map[string]string{}}
}

// observe applies actor's current roles and groups to their tokens, unless
// this process did so for the same roles and groups already, and reports
// whether any token changed. A failure is logged and tried again on the
// user's next request.
func (n *narrower) observe(ctx context.Context, actor store.Actor) bool {
	roles := make([]string, len(actor.Roles))
	for i, r := range actor.Roles {
		roles[i] = string(r)
	}
	slices.Sort(roles)
	groups := slices.Sorted(slices.Values(actor.Groups))
	key := strings.Join(roles, ",") + "|" + strings.Join(groups, "\x00")
	n.mu.Lock()
	done := n.seen[actor.Name] == key
	n.mu.Unlock()
	if done {
		return false
	}
	changed, err := n.narrow(ctx, actor.Name, actor.Roles, actor.Groups)
	if err != nil {
		n.log.Warn("narrowing the user's API tokens to their current roles failed; tried again on their next request",
			"user", actor.Name, "err", err)
		return false
	}
	if changed > 0 {
		n.log.Info("API tokens narrowed to the user's current roles and groups", "user", actor.Name, "tokens", changed)
	}
	n.mu.Lock()
	if len(n.seen) >= narrowerMaxUsers {
		clear(n.seen)
	}
	n.seen[actor.Name] = key
	n.mu.Unlock()
	return changed > 0
}
