package web

import (
	"html"
	"regexp"
	"strings"
	"testing"
)

var tagRe = regexp.MustCompile(`<[^>]*>`)

// textHas checks the page's text, tags removed: what a reader sees, such
// as an ARN rendered in parts that may break across lines.
func textHas(t testing.TB, r uiResponse, want ...string) {
	t.Helper()
	text := html.UnescapeString(tagRe.ReplaceAllString(r.body, ""))
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("page text lacks %q; got:\n%s", w, pageExcerpt(r.body))
		}
	}
}
