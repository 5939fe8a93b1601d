package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
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
		return jsonError(body, err, v)
	}
	if _, err := dec.Token(); err != io.EOF {
		line, col := position(body, dec.InputOffset())
		return newAPIError(http.StatusBadRequest, "malformed-json",
			fmt.Sprintf("Unexpected data after the JSON object at line %d, column %d.", line, col))
	}
	return nil
}

func jsonError(body []byte, err error, v any) error {
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
		if at, ok := unknownFieldAt(body, reflect.TypeOf(v), field); ok {
			field = at
		}
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

// unknownFieldAt names the unknown field name of a body decoded into a
// value of type t as validation names fields (buckets[1].extra): the
// decoder's error has the key alone. The decoder stops at the first
// unknown key in the body's order, so that is the one named; a body the
// walk cannot follow, which cannot happen for one the decoder read, is
// not placed (ok false).
func unknownFieldAt(body []byte, t reflect.Type, name string) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return unknownIn(dec, t, "", name)
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// unknownIn reads the next value from dec as one of type t at path, and
// returns the path of the first key in it that t has no field for and
// that is called name.
func unknownIn(dec *json.Decoder, t reflect.Type, path, name string) (string, bool) {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return "", false
	}
	d, isDelim := tok.(json.Delim)
	if !isDelim {
		return "", false
	}
	opaque := t == nil || reflect.PointerTo(t).Implements(unmarshalerType)
	switch {
	case d == '[' && !opaque && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for i := 0; dec.More(); i++ {
			if at, ok := unknownIn(dec, t.Elem(), fmt.Sprintf("%s[%d]", path, i), name); ok {
				return at, true
			}
		}
	case d == '{' && !opaque && t.Kind() == reflect.Struct:
		fields := jsonFields(t)
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return "", false
			}
			key, _ := tok.(string)
			f, known := fields[key]
			if !known {
				for k, kf := range fields {
					if strings.EqualFold(k, key) {
						key, f, known = k, kf, true
						break
					}
				}
			}
			at := key
			if path != "" {
				at = path + "." + key
			}
			if !known {
				if key == name {
					return at, true
				}
				f = nil // skip the value
			}
			if at, ok := unknownIn(dec, f, at, name); ok {
				return at, true
			}
		}
	default:
		// A value of no fields to know (a map, a type that reads itself):
		// skip it whole.
		for depth := 1; depth > 0; {
			tok, err := dec.Token()
			if err != nil {
				return "", false
			}
			if d, ok := tok.(json.Delim); ok {
				if d == '[' || d == '{' {
					depth++
				} else {
					depth--
				}
			}
		}
		return "", false
	}
	// The closing delimiter: the value is read whole, as the caller
	// expects, and no key in it was the unknown one.
	if _, err := dec.Token(); err != nil {
		return "", false
	}
	return "", false
}

// jsonFields maps the JSON names of struct type t's fields to their
// types, the fields of embedded structs included unless a shallower
// field has the name, as encoding/json decodes them.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	depthOf := map[string]int{}
	var add func(t reflect.Type, depth int)
	add = func(t reflect.Type, depth int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if tag == "-" {
				continue
			}
			if sf.Anonymous && tag == "" && sf.Type.Kind() == reflect.Struct {
				add(sf.Type, depth+1)
				continue
			}
			if !sf.IsExported() {
				continue
			}
			n := tag
			if n == "" {
				n = sf.Name
			}
			if d, seen := depthOf[n]; !seen || depth < d {
				fields[n], depthOf[n] = sf.Type, depth
			}
		}
	}
	add(t, 0)
	return fields
}
