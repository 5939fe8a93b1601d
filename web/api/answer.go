package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/store"
)

// The answers of the API's request routes: a request with its versions,
// decisions and events, read after the request's own write or read.

// renderDetail answers status with request r as the caller may see it.
func renderDetail(c echo.Context, st Store, status int, r store.Request) error {
	v, err := detail(c.Request().Context(), st, apiActor(c), r)
	if err != nil {
		return err
	}
	return c.JSON(status, v)
}

// afterWriteTimeout bounds the work a request still does once its write
// has committed: the reads that build its answer, and completing or
// releasing its idempotency key.
const afterWriteTimeout = 5 * time.Second

// afterWrite is the context of that work: not the request's, whose
// deadline may pass while it waits (a row lock, a busy pool), which would
// answer "try again" of a write that happened or leave its key claimed;
// bounded by afterWriteTimeout instead.
func afterWrite(c echo.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(c.Request().Context()), afterWriteTimeout)
}

// renderWritten is renderDetail for request r as a write left it.
func renderWritten(c echo.Context, st Store, status int, r store.Request) error {
	ctx, cancel := afterWrite(c)
	defer cancel()
	v, err := detail(ctx, st, apiActor(c), r)
	if err != nil {
		return err
	}
	return c.JSON(status, v)
}

// renderCreated answers 201 with the request and its Location.
func renderCreated(c echo.Context, st Store, r store.Request) error {
	c.Response().Header().Set(echo.HeaderLocation, fmt.Sprintf("/api/v1/requests/%d", r.ID))
	return renderWritten(c, st, http.StatusCreated, r)
}
