package web

import (
	"fmt"
	"slices"

	"github.com/rolegate/rolegate/provision"
)

// fieldPlace is where a validator field path's input stands in the form,
// top to bottom: the error summary lists problems in that order.
type fieldPlace struct{ section, row, part int }

func placeOf(field string) fieldPlace {
	var i int
	var rest string
	if n, _ := fmt.Sscanf(field, "buckets[%d]%s", &i, &rest); n >= 1 {
		part := map[string]int{".bucket": 0, ".prefix": 1, ".access": 2}[rest]
		if rest == "" {
			part = 3 // the row's own message stands below its fields
		}
		return fieldPlace{section: 4, row: i, part: part}
	}
	sections := map[string]int{"account": -1, "name": 0, "description": 1, "justification": 2, "buckets": 3,
		"max_session_duration": 5, "expires_at": 6, "managed_policies": 7}
	if s, ok := sections[field]; ok {
		return fieldPlace{section: s}
	}
	return fieldPlace{section: 8}
}

// orderedProblems returns problems in the order of the form's fields.
func orderedProblems(problems []provision.FieldError) []provision.FieldError {
	out := slices.Clone(problems)
	slices.SortStableFunc(out, func(a, b provision.FieldError) int {
		pa, pb := placeOf(a.Field), placeOf(b.Field)
		switch {
		case pa.section != pb.section:
			return pa.section - pb.section
		case pa.row != pb.row:
			return pa.row - pb.row
		}
		return pa.part - pb.part
	})
	return out
}

// scopeField reads a validator field path that points into the scopes
// ("buckets[1].prefix"): the scope's index and its part (bucket, prefix,
// access), or "" for the scope as a whole. ok is false for other fields.
func scopeField(field string) (i int, part string, ok bool) {
	var rest string
	if n, _ := fmt.Sscanf(field, "buckets[%d]%s", &i, &rest); n < 1 {
		return 0, "", false
	}
	switch rest {
	case ".bucket", ".prefix", ".access":
		return i, rest[1:], true
	}
	return i, "", true
}

// fieldLabel names a validator field path as the form's labels do, with
// scopes counted from 1: "Scope 2, bucket".
func fieldLabel(field string) string {
	if i, part, ok := scopeField(field); ok {
		if part != "" {
			return fmt.Sprintf("Scope %d, %s", i+1, part)
		}
		return fmt.Sprintf("Scope %d", i+1)
	}
	labels := map[string]string{"account": "Account", "name": "Role name", "description": "Description", "justification": "Justification",
		"buckets": "Bucket scopes", "max_session_duration": "Longest session", "expires_at": "Expires on",
		"managed_policies": "Managed policies"}
	if l, ok := labels[field]; ok {
		return l
	}
	return field
}
