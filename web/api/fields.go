package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rolegate/rolegate/provision"
)

// fieldValueError is a body field whose JSON value is well formed but of
// a shape the field does not take: the caller's mistake on that field
// (422), not malformed JSON (400).
type fieldValueError struct {
	field, message string
}

func (e *fieldValueError) Error() string { return e.field + ": " + e.message }

// expiresAt is expires_at in a request body: an RFC 3339 time with a zone,
// or null. A date alone is refused rather than guessed at: the same text
// would otherwise mean midnight in the form and some other instant here.
type expiresAt struct{ t *time.Time }

const expiresAtShape = `must be an RFC 3339 time with a zone, e.g. "2030-01-31T17:00:00Z"`

func (e *expiresAt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		e.t = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return &fieldValueError{field: "expires_at", message: expiresAtShape + ", as a string"}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err == nil {
		e.t = &t
		return nil
	}
	msg := expiresAtShape
	if _, derr := time.Parse(time.DateOnly, s); derr == nil {
		msg += fmt.Sprintf("; a date alone is not accepted: say the time too, e.g. %q for the end of that day in UTC", s+"T23:59:59Z")
	}
	return &fieldValueError{field: "expires_at", message: msg}
}

// wrongType says what a well-formed JSON value of the wrong type should
// have been, in words: field is its JSON name, want the Go type, got the
// decoder's description of the value ("string", "number 1.5", ...).
func wrongType(field, want, got string) string {
	kind := jsonKind(want)
	num, isNum := strings.CutPrefix(got, "number ")
	if kind == "a number" && isNum {
		// A number the field's type cannot hold: a fraction, or out of
		// range (the decoder never wraps it around).
		switch field {
		case "max_session_duration":
			return fmt.Sprintf("must be a whole number of seconds from %d (1 hour) to %d (12 hours); %s is not",
				provision.MinSessionSeconds, provision.MaxSessionSeconds, num)
		case "version":
			return fmt.Sprintf("must be a version number of the request (1, 2, ...); %s is not", num)
		}
		if strings.ContainsAny(num, ".eE") {
			return "must be a whole number, not " + num
		}
		return num + " is out of range for this field"
	}
	if n, ok := strings.CutPrefix(got, "number"); ok && n == "" {
		got = "a number"
	} else if isNum {
		got = "the number " + num
	} else {
		switch got {
		case "string":
			got = "a string"
		case "bool":
			got = "true or false"
		case "array":
			got = "an array"
		case "object":
			got = "an object"
		}
	}
	return fmt.Sprintf("must be %s, not %s", kind, got)
}
