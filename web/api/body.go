package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/web/problem"
)

// bodyLimits refuses bodies over max with 413, before and while reading.
func bodyLimits(max int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > max {
				return tooLarge(max)
			}
			req.Body = http.MaxBytesReader(c.Response(), req.Body, max)
			return next(c)
		}
	}
}

func tooLarge(max int64) *apiError {
	return newAPIError(http.StatusRequestEntityTooLarge, "payload-too-large",
		fmt.Sprintf("The request body is over the limit of %d bytes.", max))
}

// readBody reads the whole body once (so the idempotency check can hash
// it and the decoder can read it) and keeps it for later readers.
func readBody(c echo.Context) ([]byte, error) {
	if b, ok := c.Get("api_body").([]byte); ok {
		return b, nil
	}
	b, err := io.ReadAll(c.Request().Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, tooLarge(mbe.Limit)
	}
	if err != nil {
		return nil, newAPIError(http.StatusBadRequest, "malformed-json", "The request body could not be read.")
	}
	c.Set("api_body", b)
	return b, nil
}

// decodeJSON decodes the body into v. An empty body is allowed when
// optional (actions without parameters); otherwise the content type must
// be JSON (415), the JSON well formed (400, with line and column) and
// every field known (422, naming the field).
func decodeJSON(c echo.Context, v any, optional bool) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return newAPIError(http.StatusBadRequest, "malformed-json", "The request body is empty; send a JSON object.")
	}
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return newAPIError(http.StatusUnsupportedMediaType, "unsupported-media-type",
			"Send the body as Content-Type: application/json.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(body, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := position(body, dec.InputOffset())
		return newAPIError(http.StatusBadRequest, "malformed-json",
			fmt.Sprintf("Unexpected data after the JSON object at line %d, column %d.", line, col))
	}
	return nil
}

func jsonError(body []byte, err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		fve *fieldValueError
	)
	switch {
	case errors.As(err, &fve):
		e := newAPIError(http.StatusUnprocessableEntity, "validation-failed", "The request has invalid fields; see errors.")
		e.fields = []problem.Field{{Field: fve.field, Message: fve.message}}
		return e
	case errors.As(err, &syn):
		// Offset counts the offending byte itself.
		line, col := position(body, max(syn.Offset-1, 0))
		return newAPIError(http.StatusBadRequest, "malformed-json",
			fmt.Sprintf("Malformed JSON at line %d, column %d: %s.", line, col, strings.TrimPrefix(syn.Error(), "json: ")))
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, col := position(body, int64(len(body)))
		return newAPIError(http.StatusBadRequest, "malformed-json",
			fmt.Sprintf("Malformed JSON: the body ends early, at line %d, column %d.", line, col))
	case errors.As(err, &typ):
		field := fieldAt(body, typ)
		if field == "" {
			field = "(body)"
		}
		e := newAPIError(http.StatusUnprocessableEntity, "validation-failed", "The request has invalid fields; see errors.")
		e.fields = []problem.Field{{Field: field, Message: wrongType(field, typ.Type.String(), typ.Value)}}
		return e
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		e := newAPIError(http.StatusUnprocessableEntity, "validation-failed", "The request has unknown fields; see errors.")
		e.fields = []problem.Field{{Field: field, Message: "unknown field"}}
		return e
	}
	// Every field's own shape errors are handled above; what is left is
	// JSON the decoder could not read.
	return newAPIError(http.StatusBadRequest, "malformed-json", "Malformed JSON: "+strings.TrimPrefix(err.Error(), "json: ")+".")
}

// fieldAt names the value a type error is about as validation names
// fields: buckets[1].prefix. The decoder's path has the JSON names
// (after the embedded spec's name, which callers never see) but no array
// indices, so body is walked to the error's offset for them. A walk that
// does not arrive at the same names, which cannot happen for the body's
// own values, leaves the decoder's path as it is.
func fieldAt(body []byte, typ *json.UnmarshalTypeError) string {
	decoded := strings.TrimPrefix(typ.Field, "RoleSpec.")
	var names []string
	if decoded != "" {
		names = strings.Split(decoded, ".")
	}
	steps, ok := stepsTo(body, typ.Offset)
	var b strings.Builder
	for _, s := range steps {
		switch {
		case s.key == nil:
			fmt.Fprintf(&b, "[%d]", s.index)
		case len(names) == 0 || !strings.EqualFold(*s.key, names[0]):
			ok = false
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(names[0])
			names = names[1:]
		}
	}
	if !ok || len(names) > 0 {
		return decoded
	}
	return b.String()
}

// pathStep is one step from a JSON value into another: by key, or by
// index when key is nil.
type pathStep struct {
	key   *string
	index int
}

// stepsTo walks the well-formed JSON in body to the value that ends at
// offset (a literal) or starts just before it (an object or an array:
// the decoder's offsets of a type error) and returns the steps to it.
func stepsTo(body []byte, offset int64) ([]pathStep, bool) {
	type level struct {
		step   pathStep
		object bool
		inKey  bool // an object's next token is a key
	}
	var stack []level
	// done moves past a value just read: to its object's next key, or
	// its array's next index.
	done := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].object {
				stack[n-1].inKey = true
			} else {
				stack[n-1].step.index++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		d, isDelim := tok.(json.Delim)
		if isDelim && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			done()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].inKey {
			key, _ := tok.(string)
			stack[n-1].step.key, stack[n-1].inKey = &key, false
			continue
		}
		if dec.InputOffset() >= offset {
			steps := make([]pathStep, len(stack))
			for i, l := range stack {
				steps[i] = l.step
			}
			return steps, true
		}
		if isDelim {
			stack = append(stack, level{object: d == '{', inKey: d == '{'})
			continue
		}
		done()
	}
}

func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string", strings.HasSuffix(goType, ".Access"):
		return "a string"
	case goType == "bool":
		return "true or false"
	}
	return "an object"
}

// position turns a byte offset into a 1-based line and column.
func position(body []byte, offset int64) (int, int) {
	if offset > int64(len(body)) {
		offset = int64(len(body))
	}
	before := body[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}
