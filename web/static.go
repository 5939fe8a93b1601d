package web

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"
)

//go:embed static
var staticFS embed.FS

// handleStatic serves the embedded assets. They change only with the
// binary, so browsers may keep them for a day and must revalidate after.
func handleStatic() echo.HandlerFunc {
	sub, _ := fs.Sub(staticFS, "static") // the directory is embedded above; Sub cannot fail
	files := http.FileServerFS(sub)
	return func(c echo.Context) error {
		name := path.Clean(strings.TrimPrefix(c.Param("*"), "/"))
		if _, err := fs.Stat(sub, name); err != nil || name == "." {
			return echo.NewHTTPError(http.StatusNotFound, "No such file.")
		}
		c.Response().Header().Set("Cache-Control", "public, max-age=86400")
		r := c.Request().Clone(c.Request().Context())
		r.URL.Path = "/" + name
		files.ServeHTTP(c.Response(), r)
		return nil
	}
}
