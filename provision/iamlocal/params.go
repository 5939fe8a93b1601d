package iamlocal

import (
	"net/url"
	"strconv"
	"strings"
)

// params is the decoded form of one Query API request.
type params struct{ v url.Values }

// has reports whether the parameter was sent at all.
func (p params) has(name string) bool {
	_, ok := p.v[name]
	return ok
}

func (p params) str(name string) string { return p.v.Get(name) }

// required returns the parameter or AWS's "must not be null" error; field
// is the model's lowerCamel member name used in the message.
func (p params) required(name, field string) (string, *apiError) {
	if !p.has(name) {
		return "", validationError("\x00", field, "Member must not be null")
	}
	return p.v.Get(name), nil
}

// list returns Name.member.1, Name.member.2, ... until the first gap.
func (p params) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		key := name + ".member." + strconv.Itoa(i)
		if !p.has(key) {
			return out
		}
		out = append(out, p.v.Get(key))
	}
}

// tags returns Tags.member.N.Key/Value pairs in request order.
func (p params) tags() []tag {
	var out []tag
	for i := 1; ; i++ {
		prefix := "Tags.member." + strconv.Itoa(i) + "."
		if !p.has(prefix+"Key") && !p.has(prefix+"Value") {
			return out
		}
		out = append(out, tag{Key: p.v.Get(prefix + "Key"), Value: p.v.Get(prefix + "Value")})
	}
}

// intParam parses an optional integer; ok is false when it is absent.
func (p params) intParam(name, field string) (n int, ok bool, err *apiError) {
	if !p.has(name) {
		return 0, false, nil
	}
	raw := strings.TrimSpace(p.v.Get(name))
	n, convErr := strconv.Atoi(raw)
	if convErr != nil {
		return 0, false, validationError(raw, field, "Member must be a number")
	}
	return n, true, nil
}
