package api

import (
	"math"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/auth"
)

const apiTokenKey = "api_token"

// tokenOf is the token the request authenticated with; only handlers
// behind bearerAuth call it.
func tokenOf(c echo.Context) store.Token {
	t, _ := c.Get(apiTokenKey).(store.Token)
	return t
}

// Caller is the user of the API token the request authenticated with,
// for the request's log line; empty when it authenticated with none.
func Caller(c echo.Context) string { return tokenOf(c).User }

// apiActor is who the request speaks for.
func apiActor(c echo.Context) store.Actor { return tokenOf(c).Actor() }

// bearerAuth authenticates `Authorization: Bearer rgt_...`. Missing,
// malformed, unknown, expired and revoked tokens are all 401; the detail
// says which, the log never holds the token.
func bearerAuth(st Store, cache *TokenCache) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token, ok := auth.BearerToken(c.Request().Header)
			if !ok {
				e := newAPIError(http.StatusUnauthorized, "unauthorized",
					"Send an API token as `Authorization: Bearer rgt_...`; create one with `rolegate token create` or on the settings page.")
				e.header = map[string]string{"WWW-Authenticate": `Bearer realm="rolegate"`}
				return e
			}
			t, ok := cache.get(token)
			if !ok {
				started, gen := cache.checkStarts()
				var err error
				if t, err = st.Authenticate(c.Request().Context(), token); err != nil {
					return err
				}
				cache.put(token, t, started, gen)
			}
			c.Set(apiTokenKey, t)
			return next(c)
		}
	}
}

// limiters holds one token bucket per API token, in this process.
type limiters struct {
	mu  sync.Mutex
	lim Limits
	m   map[int64]*rate.Limiter
}

func (l *limiters) get(id int64) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) > 10000 {
		// Forgetting every bucket at once only lets idle tokens burst again.
		clear(l.m)
	}
	r, ok := l.m[id]
	if !ok {
		r = rate.NewLimiter(rate.Limit(l.lim.Rate), l.lim.Burst)
		l.m[id] = r
	}
	return r
}

// rateLimit answers 429 with Retry-After once a token spends its burst
// faster than the sustained rate refills it.
func rateLimit(lim Limits) echo.MiddlewareFunc {
	ls := &limiters{lim: lim, m: map[int64]*rate.Limiter{}}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			now := lim.Now()
			r := ls.get(tokenOf(c).ID).ReserveN(now, 1)
			if d := r.DelayFrom(now); d > 0 {
				r.CancelAt(now)
				e := newAPIError(http.StatusTooManyRequests, "rate-limited",
					"This token is over its rate limit; wait for Retry-After seconds.")
				e.retryAfter = int(math.Ceil(d.Seconds()))
				return e
			}
			return next(c)
		}
	}
}
