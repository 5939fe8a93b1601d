package web

import (
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/web/api"
)

// handleAPIReference shows the reference as a page of the app, in its
// layout, rendered from the same document as openapi.json.
func handleAPIReference(d *api.Doc) echo.HandlerFunc {
	return func(c echo.Context) error {
		return render(c, http.StatusOK, apiReferencePage(d.Ref))
	}
}

// textBlock is one paragraph of a description, as runs of text and code.
type textBlock []textRun

type textRun struct {
	Text string
	Code bool
}

// paragraphs reads a description the way the document writes them:
// paragraphs split by blank lines, `backticks` around code. Nothing else
// of Markdown is used, so nothing else is read; all of it is escaped as
// text when rendered.
func paragraphs(s string) []textBlock {
	var out []textBlock
	for _, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		if para = strings.Join(strings.Fields(para), " "); para != "" {
			out = append(out, codeRuns(para))
		}
	}
	return out
}

// runs renders a block as escaped text and <code> elements, with no
// whitespace added between them (a template would add some).
func runs(b textBlock) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		var sb strings.Builder
		for _, r := range b {
			if r.Code {
				sb.WriteString("<code>" + templ.EscapeString(r.Text) + "</code>")
			} else {
				sb.WriteString(templ.EscapeString(r.Text))
			}
		}
		_, err := io.WriteString(w, sb.String())
		return err
	})
}

// codeRuns splits one line of text at its backticks; an unpaired one stays
// as it is.
func codeRuns(s string) textBlock {
	var runs textBlock
	for {
		i := strings.IndexByte(s, '`')
		j := -1
		if i >= 0 {
			j = strings.IndexByte(s[i+1:], '`')
		}
		if i < 0 || j < 0 {
			if s != "" {
				runs = append(runs, textRun{Text: s})
			}
			return runs
		}
		if i > 0 {
			runs = append(runs, textRun{Text: s[:i]})
		}
		runs = append(runs, textRun{Text: s[i+1 : i+1+j], Code: true})
		s = s[i+2+j:]
	}
}
