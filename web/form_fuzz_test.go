package web

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
)

// FuzzRequestForm parses arbitrary url-encoded bodies as the new-request
// form. Parsing never panics; what it accepts either validates, and then
// plans a policy within the typed scopes, or yields problems that each
// land at a field of the form; the form re-renders without error and
// with no markup from the input.
func FuzzRequestForm(f *testing.F) {
	for _, s := range []string{
		"name=reports-reader&description=reads&justification=nightly&bucket=example-bucket&prefix=daily%2F&access=read",
		"name=etl&justification=j&bucket=team-a&prefix=in%2F&access=read-write&bucket=team-b&prefix=&access=write",
		"name=x&bucket=%2A&access=read&bucket=arn%3Aaws%3As3%3A%3A%3A%2A&access=write",
		"name=x&bucket=logs&prefix=..%2F&access=read&prefix=%24%7Baws%3Ausername%7D",
		"name=x&bucket=logs&access=all&session_hours=abc&expires=tomorrow",
		"name=x&bucket=logs&access=read&session_hours=12&expires=2099-01-31&managed=AmazonSSMManagedInstanceCore",
		"name=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(1)%3E&description=%3Cscript%3Ealert(1)%3C%2Fscript%3E&bucket=b",
		"name=x&justification=%27%3B+DROP+TABLE+requests%3B--&description=%22%2C%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22*",
		"name=nul%00&description=%FF%FE&bucket=a%00b",
		"bucket=&bucket=&bucket=&prefix=a&access=read",
		"name=x&bucket=b&bucket=c&prefix=p&access=read&access=write&access=read-write&access=extra",
		"%ZZ=1&name=%",
		"name=x;bucket=b",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("name=x&bucket=&prefix="), true)
	set := provision.DefaultSettings()
	e := echo.New()
	empty := renderForm(f, newRequestForm(), set)
	scripts := strings.Count(empty, "<script")
	// The second value once chose whether blank rows were kept; they
	// always are now, and it stays so the saved corpus still loads.
	f.Fuzz(func(t *testing.T, body []byte, _ bool) {
		req := httptest.NewRequest(http.MethodPost, "/requests/new", bytes.NewReader(body))
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationForm)
		c := e.NewContext(req, httptest.NewRecorder())
		form, err := parseRequestForm(c)
		if err != nil {
			var he *echo.HTTPError
			if !errors.As(err, &he) || he.Code != http.StatusBadRequest {
				t.Fatalf("parse error %v is not a 400", err)
			}
			return
		}
		spec := form.spec()
		verr := spec.Validate(set)
		switch {
		case verr == nil && !form.hasErrors():
			p, err := provision.NewPlan(spec, set, provision.PlanMeta{RequestID: "fuzz", Requester: "alice"})
			if err != nil {
				t.Fatalf("a valid spec does not plan: %v", err)
			}
			checkGrants(t, "form", p.Policy.Document, spec.Buckets, set.Partition)
		case verr != nil:
			if !form.setProblems(verr) {
				t.Fatalf("Validate returned %T, not field problems: %v", verr, verr)
			}
		}
		for _, p := range form.Problems {
			if p.Field == "" || p.Message == "" {
				t.Fatalf("a problem without its field or message: %+v", p)
			}
			if _, ok := form.Errors[p.Field]; !ok {
				t.Fatalf("problem at %q is not shown at a field", p.Field)
			}
			if id := fieldID(p.Field); !strings.HasPrefix(id, "f-") && id != "scopes" {
				t.Fatalf("problem at %q links to %q", p.Field, id)
			}
		}
		page := renderForm(t, form, set)
		if n := strings.Count(page, "<script"); n != scripts {
			t.Fatalf("the form renders %d script tags, the empty form %d", n, scripts)
		}
	})
}

func renderForm(tb testing.TB, f requestForm, set provision.Settings) string {
	tb.Helper()
	var buf bytes.Buffer
	if err := requestFormPage("New request", f, set, preview{Empty: true}).Render(context.Background(), &buf); err != nil {
		tb.Fatalf("render: %v", err)
	}
	return buf.String()
}
