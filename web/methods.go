package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// methodRouting makes the router answer like HTTP says it should, which
// echo does not do once a group with middleware registers its catch-all
// not-found routes (they hide every 405):
//   - HEAD is served by the GET route of the same path (net/http drops the
//     body), with the GET route's own middleware;
//   - a path routed for other methods answers 405 with an Allow header
//     listing them (OPTIONS answers 204 with the same header);
//   - a path routed for no method stays a 404 (for a method other than
//     GET, HEAD and OPTIONS at once, before the pages' middleware checks
//     a CSRF token no form there could carry).
//
// routes are the router's routes; it must run innermost, after routing.
func methodRouting(e *echo.Echo, routes []*echo.Route) echo.MiddlewareFunc {
	known := map[string]bool{}
	var methods []string
	for _, r := range routes {
		if r.Method == echo.RouteNotFound {
			continue
		}
		known[r.Method+" "+r.Path] = true
		if !slices.Contains(methods, r.Method) {
			methods = append(methods, r.Method)
		}
	}
	// routed reports whether method has a route (not a catch-all) for
	// the request's path.
	routed := func(c echo.Context, method string) bool {
		probe := e.NewContext(c.Request(), nil)
		e.Router().Find(method, echo.GetPath(c.Request()), probe)
		return known[method+" "+probe.Path()]
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if known[req.Method+" "+c.Path()] {
				return next(c)
			}
			var allowed []string
			for _, m := range methods {
				if routed(c, m) {
					allowed = append(allowed, m)
				}
			}
			if slices.Contains(allowed, http.MethodGet) {
				if req.Method == http.MethodHead {
					e.Router().Find(http.MethodGet, echo.GetPath(req), c)
					return c.Handler()(c)
				}
				allowed = append(allowed, http.MethodHead)
			}
			if len(allowed) == 0 {
				if req.Method != http.MethodGet && req.Method != http.MethodHead && req.Method != http.MethodOptions {
					// No form acts here: 404 now, not the CSRF check's
					// 403 of the sign-in middleware the catch-all runs.
					return echo.ErrNotFound
				}
				return next(c)
			}
			slices.Sort(allowed)
			allow := strings.Join(allowed, ", ")
			c.Response().Header().Set(echo.HeaderAllow, allow)
			if req.Method == http.MethodOptions {
				return c.NoContent(http.StatusNoContent)
			}
			return echo.NewHTTPError(http.StatusMethodNotAllowed,
				fmt.Sprintf("This address does not take %s; it answers %s.", req.Method, allow))
		}
	}
}
