package api

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/web/problem"
)

// The fuzz targets of the web package. `make fuzz` runs each for a short
// fixed budget; the seed corpora under testdata/fuzz run with every
// `go test`.

// knownJSON are the fields each API body has, as the decoder matches
// them (case-insensitively).
var knownJSON = map[string][]string{
	"spec":     {"name", "description", "buckets", "max_session_duration", "managed_policies", "expires_at", "justification"},
	"bucket":   {"bucket", "prefix", "access"},
	"decision": {"comment", "version", "expires_at"},
}

// FuzzAPIDecode sends arbitrary bytes, under an arbitrary content type, to
// the API's body decoding as create/change and decide handlers use it,
// behind the API's error handler and body limit. It never panics and never
// answers 5xx; every refusal is problem+json; and a body it accepts names
// no field the body types lack.
func FuzzAPIDecode(f *testing.F) {
	for _, s := range []struct {
		body, ct string
		which    uint8
	}{
		{`{"name":"reports-reader","description":"d","buckets":[{"bucket":"example-bucket","prefix":"in/","access":"read"}],"justification":"j"}`, "application/json", 0},
		{`{"name":"x","buckets":[],"justification":"j","colour":"blue"}`, "application/json", 0},
		{`{"name":"x","buckets":[{"bucket":"b","access":"read","extra":1}]}`, "application/json", 0},
		{`{"NAME":"x","Buckets":[{"BUCKET":"b"}]}`, "application/problem+json", 0},
		{`{"name":1,"buckets":"all"}`, "application/json", 0},
		{`{"max_session_duration":1e40,"expires_at":"yesterday"}`, "application/json", 0},
		{`{"justification":"a\u0000b"}`, "application/json", 0},
		{"{\"name\":\"\xff\xfe\"}", "application/json", 0},
		{`{"name":"x"} {"again":1}`, "application/json", 0},
		{`{"name": "x"`, "application/json", 0},
		{`null`, "application/json", 0},
		{`[[[[[[[[[[`, "application/json", 0},
		{``, "application/json", 1},
		{`{"comment":"ok","version":2,"expires_at":"2030-01-02T03:04:05Z"}`, "application/json; charset=utf-8", 1},
		{`{"comment":"<script>alert(1)</script>","version":-1}`, "application/json", 1},
		{`{"comment":"x"}`, "text/plain", 1},
		{`{"comment":"x"}`, "application/json; boundary=\"", 1},
	} {
		f.Add([]byte(s.body), s.ct, s.which)
	}
	logger := slog.New(slog.DiscardHandler)
	e := echo.New()
	f.Fuzz(func(t *testing.T, body []byte, contentType string, which uint8) {
		var accepted any
		handler := func(c echo.Context) error {
			if which%2 == 0 {
				var b specBody
				if err := decodeJSON(c, &b, false); err != nil {
					return err
				}
				// As the store refuses it, at its field.
				if p := provision.FreeTextFault("justification", b.Justification); p != "" {
					return &provision.ValidationError{Problems: []provision.FieldError{{Field: "justification", Message: p}}}
				}
				accepted = b
			} else {
				b, err := readDecisionBody(c, true)
				if err != nil {
					return err
				}
				accepted = b
			}
			return c.NoContent(http.StatusNoContent)
		}
		h := apiProblems(logger)(bodyLimits(64 << 10)(handler))
		req := httptest.NewRequest(http.MethodPost, "/api/v1/requests", bytes.NewReader(body))
		req.Header.Set(echo.HeaderContentType, contentType)
		rec := httptest.NewRecorder()
		c := e.NewContext(req, rec)
		if err := h(c); err != nil {
			t.Fatalf("the API's error handler returned %v", err)
		}
		switch {
		case rec.Code >= 500:
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		case rec.Code >= 400:
			var p problem.Problem
			if rec.Header().Get(echo.HeaderContentType) != "application/problem+json" || json.Unmarshal(rec.Body.Bytes(), &p) != nil ||
				p.Status != rec.Code || p.Detail == "" || !strings.HasPrefix(p.Type, problem.Base) {
				t.Fatalf("refusal %d is not a problem document: %s", rec.Code, rec.Body)
			}
		case rec.Code != http.StatusNoContent || accepted == nil:
			t.Fatalf("status %d without a decoded body", rec.Code)
		default:
			kind := "spec"
			if which%2 == 1 {
				kind = "decision"
			}
			if len(bytes.TrimSpace(body)) > 0 {
				checkKnownFields(t, body, kind)
			}
		}
	})
}

// checkKnownFields fails when an accepted JSON body has a field the body
// type lacks, at the top or inside a bucket scope.
func checkKnownFields(t *testing.T, body []byte, kind string) {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("accepted a body that is not JSON: %q", body)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return // null
	}
	known := func(k string, names []string) bool {
		for _, n := range names {
			if strings.EqualFold(k, n) {
				return true
			}
		}
		return false
	}
	for k, val := range obj {
		if !known(k, knownJSON[kind]) {
			t.Fatalf("accepted unknown field %q in %s", k, body)
		}
		if kind == "spec" && strings.EqualFold(k, "buckets") {
			list, _ := val.([]any)
			for _, item := range list {
				m, _ := item.(map[string]any)
				for bk := range m {
					if !known(bk, knownJSON["bucket"]) {
						t.Fatalf("accepted unknown bucket field %q in %s", bk, body)
					}
				}
			}
		}
	}
}
