package web

import (
	"bytes"
	"context"
	"sync"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
)

// pageBuffers hold rendered pages between requests: a page is tens of
// kilobytes, and growing a fresh buffer to that size on every request was
// a tenth of a list page's allocations.
var pageBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledPage is the largest buffer kept for the next page; a rare huge
// page (a request's long history) is left to the garbage collector rather
// than held for ever.
const maxPooledPage = 1 << 20

// render writes a templ component with status. It renders into a buffer
// first, so a failing component yields a clean error page instead of half
// a page behind a 200.
func render(c echo.Context, status int, component templ.Component) error {
	buf := pageBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledPage {
			buf.Reset()
			pageBuffers.Put(buf)
		}
	}()
	// Rendering reads no database, and templ stops at a context that is
	// done: a page whose data came in just before the request's deadline
	// (--request-timeout), or the page saying the deadline passed, still
	// renders.
	if err := component.Render(context.WithoutCancel(c.Request().Context()), buf); err != nil {
		return err
	}
	// The response writer copies or sends the bytes before Write returns,
	// so the buffer may go back to the pool afterwards.
	return c.HTMLBlob(status, buf.Bytes())
}
