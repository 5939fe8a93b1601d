package problem

import (
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// A request whose body arrives slowly (a client sending a byte at a time,
// a stalled upload) uses up its deadline before the handler reaches the
// database, whose next call then fails for want of time. That is the
// client's slowness, not the database's: it is answered 408, not the
// timeout's 503 and its "the database took too long".

const bodyClockKey = "rolegate.body_clock"

// bodyClock notes when a request's body was read to its end.
type bodyClock struct {
	io.ReadCloser
	deadline time.Time
	end      time.Time
}

func (b *bodyClock) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && b.end.IsZero() {
		b.end = time.Now()
	}
	return n, err
}

// TimeBody notes, for Lookup, when the body of c's request (if it has one)
// is read to its end, against the request's deadline.
func TimeBody(c echo.Context, deadline time.Time) {
	r := c.Request()
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	b := &bodyClock{ReadCloser: r.Body, deadline: deadline}
	r.Body = b
	c.Set(bodyClockKey, b)
}

// bodyLate reports whether c's request body was read to its end only
// after the request's deadline.
func bodyLate(c echo.Context) bool {
	if c == nil {
		return false
	}
	b, _ := c.Get(bodyClockKey).(*bodyClock)
	return b != nil && !b.end.IsZero() && b.end.After(b.deadline)
}

// slowBody is the answer to a request that timed out because its body
// arrived after its deadline.
var slowBody = Answer{Status: http.StatusRequestTimeout, Type: "request-timeout",
	Page: "The form took too long to arrive, so it was not saved. Send it again.",
	API:  "The request body took longer to arrive than the server waits for a request (--request-timeout); nothing was written. Send it again."}
