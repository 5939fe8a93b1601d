package web

import (
	"context"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/web/problem"
)

// DefaultRequestTimeout is the deadline of a request when Deps sets none.
const DefaultRequestTimeout = 30 * time.Second

// requestDeadline gives every request but the health checks a context
// that ends after timeout, so one stuck behind another transaction's row
// lock, or on a slow query, gives its pooled connection back and answers
// 503 with Retry-After (store.ErrTimeout) rather than hanging. The health
// checks keep their own: /healthz reads nothing, /readyz has
// --ready-timeout. On the way out the request gets its parent's deadline
// and cancellation back, so the error handler, outside, sees whether the
// caller went away rather than this deadline, and keeps the values the
// handlers added (who is signed in).
func requestDeadline(timeout time.Duration) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if p := c.Path(); p == "/healthz" || p == "/readyz" {
				return next(c)
			}
			parent := c.Request().Context()
			ctx, cancel := context.WithTimeout(parent, timeout)
			defer cancel()
			dl, _ := ctx.Deadline()
			problem.TimeBody(c, dl)
			c.SetRequest(c.Request().WithContext(ctx))
			defer func() {
				c.SetRequest(c.Request().WithContext(keptValues{Context: parent, values: c.Request().Context()}))
			}()
			return next(c)
		}
	}
}

// keptValues is a context's values under another's deadline and
// cancellation.
type keptValues struct {
	context.Context
	values context.Context
}

func (k keptValues) Value(key any) any { return k.values.Value(key) }
