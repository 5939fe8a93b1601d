package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/rolegate/rolegate/web/api"
	"github.com/rolegate/rolegate/web/auth"
)

// contract validates responses against the OpenAPI document. One per test
// binary: building it parses and compiles every schema.
var (
	contractOnce sync.Once
	contractV    validator.Validator
	contractErr  error
	contractMu   sync.Mutex // the validator's caches are not documented as safe for concurrent use
	checked      atomic.Int64
)

func contract(t *testing.T) validator.Validator {
	t.Helper()
	contractOnce.Do(func() {
		doc, err := libopenapi.NewDocument(api.OpenAPI().JSON)
		if err != nil {
			contractErr = err
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			contractErr = errs[0]
			return
		}
		if ok, verrs := v.ValidateDocument(); !ok {
			for _, e := range verrs {
				t.Logf("document: %s: %s", e.Message, e.Reason)
			}
			contractErr = io.ErrUnexpectedEOF
			return
		}
		contractV = v
	})
	if contractErr != nil {
		t.Fatalf("OpenAPI document: %v", contractErr)
	}
	return contractV
}

// checkContract validates one response against the document.
func checkContract(t *testing.T, hr *http.Request, res *http.Response, body []byte) {
	t.Helper()
	v := contract(t)
	res.Body = io.NopCloser(bytes.NewReader(body))
	// The validator matches the request's path and method; a path the API
	// does not route is not the document's business.
	vr := hr.Clone(context.Background())
	vr.URL.Host, vr.URL.Scheme = "", ""
	contractMu.Lock()
	ok, errs := v.ValidateHttpResponse(vr, res)
	contractMu.Unlock()
	res.Body = io.NopCloser(bytes.NewReader(body))
	if !ok {
		for _, e := range errs {
			if strings.Contains(e.Message, "not found") && res.StatusCode == http.StatusNotFound && !documentedPath(hr.URL.Path) {
				return
			}
			var detail []string
			for _, se := range e.SchemaValidationErrors {
				detail = append(detail, se.FieldPath+": "+se.Reason)
			}
			t.Errorf("contract: %s %s → %d: %s (%s) %v\n%s", hr.Method, hr.URL.Path, res.StatusCode, e.Message, e.Reason, detail, body)
		}
		return
	}
	checked.Add(1)
}

func documentedPath(p string) bool {
	for _, op := range api.OpenAPI().Operations() {
		_, path, _ := strings.Cut(op, " ")
		if matchTemplate(path, p) {
			return true
		}
	}
	return false
}

func matchTemplate(tmpl, p string) bool {
	a, b := strings.Split(tmpl, "/"), strings.Split(p, "/")
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.HasPrefix(a[i], "{") && a[i] != b[i] {
			return false
		}
	}
	return true
}

// Every route under /api is in the document and every documented
// operation is routed.
func TestAPIRoutesMatchTheDocument(t *testing.T) {
	env := setupAPI(t)
	e := newServer(testDeps(env.db), auth.Identity{}, env.db, api.Limits{})
	var routed []string
	for _, r := range e.Routes() {
		if !strings.HasPrefix(r.Path, "/api") || r.Method == echo.RouteNotFound {
			continue
		}
		path := r.Path
		for _, seg := range strings.Split(path, "/") {
			if strings.HasPrefix(seg, ":") {
				path = strings.Replace(path, seg, "{"+seg[1:]+"}", 1)
			}
		}
		routed = append(routed, r.Method+" "+path)
	}
	documented := api.OpenAPI().Operations()
	sort.Strings(routed)
	sort.Strings(documented)
	if strings.Join(routed, "\n") != strings.Join(documented, "\n") {
		t.Fatalf("routes and document differ\nrouted:\n%s\n\ndocumented:\n%s", strings.Join(routed, "\n"), strings.Join(documented, "\n"))
	}
	if len(documented) < 15 {
		t.Fatalf("only %d operations", len(documented))
	}
}

func TestOpenAPIDocumentAndReferencePage(t *testing.T) {
	env := setupAPI(t)
	r := env.do(req{method: "GET", path: "/api/openapi.json"})
	var doc map[string]any
	r.json(t, &doc)
	if r.StatusCode != 200 || doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi.json: %d %v", r.StatusCode, doc["openapi"])
	}
	page := env.do(req{method: "GET", path: "/api/docs"})
	for _, want := range []string{"POST /api/v1/requests", "GET /api/v1/requests/{id}/terraform", "RequestDetail", "idempotency-key-mismatch"} {
		if !strings.Contains(string(page.body), want) {
			t.Errorf("reference page lacks %q", want)
		}
	}
	if strings.Contains(string(page.body), "http://") || strings.Contains(string(page.body), "https://cdn") {
		t.Error("reference page loads something from elsewhere")
	}
}

// The contract check is not vacuous: a response that drifts from the
// document fails it.
func TestContractCatchesDrift(t *testing.T) {
	v := contract(t)
	hr, _ := http.NewRequest("GET", "/api/v1/me", nil)
	for _, body := range []string{`{"name": "alice"}`, `{"name": "a", "roles": [], "groups": [], "token": {"id": 1, "created_at": "2030-01-01T00:00:00Z"}, "extra": 1}`} {
		res := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body))}
		contractMu.Lock()
		ok, _ := v.ValidateHttpResponse(hr, res)
		contractMu.Unlock()
		if ok {
			t.Errorf("drifted body %s passed the contract", body)
		}
	}
	res := &http.Response{StatusCode: 418, Header: http.Header{"Content-Type": {"application/problem+json"}}, Body: io.NopCloser(strings.NewReader(`{}`))}
	if ok, _ := v.ValidateHttpResponse(hr, res); ok {
		t.Error("an undocumented status passed the contract")
	}
}
