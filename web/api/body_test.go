package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// TestFieldAt: a type error is named with the indices of the arrays it
// is in, with the fields' own names whatever case the body wrote them
// in, through white space; the body itself is named "".
func TestFieldAt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ body, want string }{
		{`{"name":"a","buckets":[{"bucket":1,"access":"read"}]}`, "buckets[0].bucket"},
		{"{ \"Buckets\" :\n [ {\"bucket\":\"a\"} , { \"BUCKET\" : {\"x\": [1, 2]} } ] }", "buckets[1].bucket"},
		{`{"buckets":[{"bucket":"a","prefix":"p/"}, [] ]}`, "buckets[1]"},
		{`{"description":"x","managed_policies":["a","b",false]}`, "managed_policies[2]"},
		{`{"name":["x"]}`, "name"},
		{`{"buckets":{}}`, "buckets"},
		{`[]`, ""},
	} {
		var b specBody
		var typ *json.UnmarshalTypeError
		if err := json.Unmarshal([]byte(tc.body), &b); !errors.As(err, &typ) {
			t.Fatalf("%s: %v, want a type error", tc.body, err)
		}
		if got := fieldAt([]byte(tc.body), typ); got != tc.want {
			t.Errorf("%s: field %q, want %q", tc.body, got, tc.want)
		}
	}
	// An offset the walk cannot place, or places at other names, leaves
	// the decoder's path.
	body := []byte(`{"buckets":[{"bucket":"a"}]}`)
	if got := fieldAt(body, &json.UnmarshalTypeError{Field: "RoleSpec.buckets.prefix", Offset: 99}); got != "buckets.prefix" {
		t.Errorf("unplaced offset: %q", got)
	}
	if got := fieldAt(body, &json.UnmarshalTypeError{Field: "RoleSpec.name", Offset: 25}); got != "name" {
		t.Errorf("offset at other names: %q", got)
	}
}

// TestUnknownFieldNamedWhereItStands: an unknown field is named with the
// indices of the arrays it is in, as validation names fields: one in a
// bucket scope was named alone ("extra"), as if it stood in the body.
func TestUnknownFieldNamedWhereItStands(t *testing.T) {
	t.Parallel()
	decode := func(body string, v any) *apiError {
		t.Helper()
		dec := json.NewDecoder(strings.NewReader(body))
		dec.DisallowUnknownFields()
		err := dec.Decode(v)
		if err == nil {
			t.Fatalf("%s: decoded, want an unknown field", body)
		}
		var ae *apiError
		if !errors.As(jsonError([]byte(body), err, v), &ae) || len(ae.fields) != 1 {
			t.Fatalf("%s: %v, want one field's problem", body, err)
		}
		return ae
	}
	for _, tc := range []struct{ body, want string }{
		{`{"colour":"blue"}`, "colour"},
		{`{"name":"x","buckets":[{"bucket":"a","access":"read"},{"bucket":"b","extra":1}]}`, "buckets[1].extra"},
		// A field of the body is unknown in a scope, and the other way round.
		{`{"Buckets":[{"name":"x"}]}`, "buckets[0].name"},
		{"{ \"buckets\" : [ {\"BUCKET\":\"a\", \"Prefix\":\"p/\", \"x\": [{\"y\": 1}]} ],\n \"bucket\": 1}", "buckets[0].x"},
		{`{"expires_at":null,"managed_policies":["a"],"buckets":[{"bucket":"a"}],"access":"read"}`, "access"},
	} {
		var b specBody
		if ae := decode(tc.body, &b); ae.status != http.StatusUnprocessableEntity || ae.fields[0].Field != tc.want ||
			ae.fields[0].Message != "unknown field" {
			t.Errorf("%s: %d %+v, want 422 at %q", tc.body, ae.status, ae.fields, tc.want)
		}
	}
	var d decisionBody
	if ae := decode(`{"comment":"x","Version":1,"foo":{"comment":1}}`, &d); ae.fields[0].Field != "foo" {
		t.Errorf("decision: %+v, want foo", ae.fields)
	}
}

// TestPathIDNamesWhatItWants: a path ID that is not one says what it
// should have been, in words ("is not a id" before).
func TestPathIDNamesWhatItWants(t *testing.T) {
	t.Parallel()
	e := echo.New()
	c := e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
	c.SetParamNames("id")
	c.SetParamValues("abc")
	_, err := pathID(c, "id")
	var ae *apiError
	if !errors.As(err, &ae) || ae.status != http.StatusNotFound || ae.detail != `"abc" is not a request ID (a whole number from 1).` {
		t.Errorf("pathID: %v", err)
	}
}
