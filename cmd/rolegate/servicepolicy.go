package main

import (
	"context"
	"errors"
)

// cmdServicePolicy prints rolegate's own IAM policy. Placeholder until the
// reconciler lands.
func cmdServicePolicy(ctx context.Context, c cli) error {
	return errors.New("service-policy: not implemented yet")
}
