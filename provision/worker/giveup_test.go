package worker

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/rolegate/rolegate/store"
)

// TestGiveUpOnlyOnPermanentErrors: a job whose store call ran out of time
// (a row lock held too long, statement_timeout) or met a database that
// went away runs again, as one IAM throttled does; a permanent error, or
// the last attempt, ends it. A timeout was taken for permanent, and a
// provisioning failed for a lock held a moment too long.
func TestGiveUpOnlyOnPermanentErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		err     error
		attempt int
		want    bool
	}{
		{"store timeout", fmt.Errorf("check: %w", store.ErrTimeout), 1, false},
		{"database away", fmt.Errorf("check: %w", store.ErrUnavailable), 1, false},
		{"a permanent error", errors.New("MalformedPolicyDocument"), 1, true},
		{"store timeout at the last attempt", store.ErrTimeout, 5, true},
	} {
		if got := giveUp(ctx, tc.err, tc.attempt, 5); got != tc.want {
			t.Errorf("%s: giveUp = %v, want %v", tc.name, got, tc.want)
		}
	}
}
