package main

import (
	"context"
	"errors"
)

// cmdRender renders a role spec. Placeholder until the plan lands.
func cmdRender(ctx context.Context, c cli) error { return errors.New("render: not implemented yet") }
