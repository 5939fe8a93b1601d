package provision

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
)

// decodePolicyDocument undoes the percent-encoding IAM applies to policy
// documents in responses. A document that already starts as JSON (some IAM
// emulators send it raw) is returned as is; it returns an error when the
// encoding is broken.
func decodePolicyDocument(s string) (string, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{") || t == "" {
		return t, nil
	}
	// PathUnescape, not QueryUnescape: IAM encodes a space as %20 and
	// sends '+' as %2B, so a literal '+' must survive.
	return url.PathUnescape(t)
}

// policiesEqual reports whether two policy documents grant the same thing:
// single strings equal one-element lists, and the order of statements,
// actions, resources and condition values does not matter. It returns an
// error when either document is not JSON.
func policiesEqual(a, b string) (bool, error) {
	na, err := normalizePolicy(a)
	if err != nil {
		return false, err
	}
	nb, err := normalizePolicy(b)
	if err != nil {
		return false, err
	}
	return reflect.DeepEqual(na, nb), nil
}

func normalizePolicy(doc string) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return nil, fmt.Errorf("policy document is not a JSON object: %w", err)
	}
	var stmts []any
	switch s := m["Statement"].(type) {
	case []any:
		stmts = s
	case map[string]any:
		stmts = []any{s}
	}
	keys := make([]string, len(stmts))
	norm := make(map[string]any, len(stmts))
	for i, st := range stmts {
		obj, ok := st.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("statement %d is not an object", i)
		}
		n := normalizeStatement(obj)
		k, err := json.Marshal(n)
		if err != nil {
			return nil, err
		}
		keys[i] = string(k)
		norm[keys[i]] = n
	}
	sort.Strings(keys)
	keys = dedupe(keys)
	list := make([]any, len(keys))
	for i, k := range keys {
		list[i] = norm[k]
	}
	m["Statement"] = list
	return m, nil
}

func normalizeStatement(st map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range st {
		switch k {
		case "Action", "NotAction", "Resource", "NotResource":
			out[k] = stringSet(v)
		case "Principal", "NotPrincipal":
			out[k] = stringSets(v)
		case "Condition":
			c, ok := v.(map[string]any)
			if !ok {
				out[k] = v
				continue
			}
			nc := map[string]any{}
			for op, kv := range c {
				nc[op] = stringSets(kv) // condition key -> values
			}
			out[k] = nc
		default:
			out[k] = v
		}
	}
	return out
}

// stringSets turns each value of an object (principal type -> principals,
// condition key -> values) into a stringSet; anything else is kept.
func stringSets(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(m))
	for k, mv := range m {
		out[k] = stringSet(mv)
	}
	return out
}

// stringSet turns a string or a list into a sorted list without repeats.
func stringSet(v any) any {
	switch x := v.(type) {
	case string:
		return []any{x}
	case []any:
		strs := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return v
			}
			strs = append(strs, s)
		}
		sort.Strings(strs)
		strs = dedupe(strs)
		out := make([]any, len(strs))
		for i, s := range strs {
			out[i] = s
		}
		return out
	}
	return v
}
