package provision

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldError is one problem with one field of a RoleSpec. Field is a path
// into the JSON form (`name`, `buckets[1].prefix`); Message says what is
// wrong in words a requester understands.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// ValidationError lists every problem found at once, in field order.
type ValidationError struct {
	Problems []FieldError `json:"problems"`
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return "invalid role spec: " + strings.Join(msgs, "; ")
}

// Validate checks a spec being submitted (or previewed) against IAM's and
// S3's rules, the organisation's guardrails in set and the rules for new
// specs, which a spec stored before them need not meet (NewPlan still
// plans it): no backtick in a prefix. It returns a *ValidationError
// listing every problem, or nil when the spec may be submitted.
func (s RoleSpec) Validate(set Settings) error {
	return s.validate(set, time.Now())
}

func (s RoleSpec) validate(set Settings, now time.Time) error {
	_, err := s.validated(set, now, true)
	return err
}

// validated validates s and returns its permission policy, which the
// size check renders anyway, so a plan need not render it again. With
// submitted it also applies the rules for new specs.
func (s RoleSpec) validated(set Settings, now time.Time, submitted bool) (string, error) {
	var v problems
	var doc string
	if in, _, err := set.In(s.Account); err != nil {
		v.add("account", "there is no account named %q; the accounts are %s", s.Account, strings.Join(set.AccountNames(), ", "))
	} else {
		set = in
	}
	s.validateName(&v, set)
	s.validateDescription(&v)
	s.validateScopes(&v, set, submitted)
	s.validateSession(&v)
	s.validateManaged(&v, set)
	if s.ExpiresAt != nil {
		checkExpiry(&v, *s.ExpiresAt, now)
	}
	// The policy size is only meaningful once every scope is well formed.
	if len(v.list) == 0 {
		var err error
		doc, err = renderPermissionPolicy(sortedScopes(s.Buckets), set.partition())
		if err != nil {
			v.add("buckets", "cannot render the access policy: %v", err)
		} else if n := iamPolicySize(doc); n > maxInlinePolicySize {
			v.add("buckets", "these scopes need an access policy of %d characters, more than IAM's limit of %d; use fewer scopes or shorter prefixes", n, maxInlinePolicySize)
		}
	}
	if err := v.err(); err != nil {
		return "", err
	}
	return doc, nil
}

func (s RoleSpec) validateName(v *problems, set Settings) {
	full := set.NamePrefix + s.Name
	switch {
	case s.Name == "":
		v.add("name", "role name is required")
	case !iamNameRe.MatchString(s.Name):
		v.add("name", "role name may contain only letters, digits and + = , . @ _ - (found %s)", firstBad(s.Name, isIAMNameRune))
	case len(full) > maxRoleNameLen && set.NamePrefix != "":
		v.add("name", "role name must be at most %d characters after the prefix %q is added (%q has %d)", maxRoleNameLen-len(set.NamePrefix), set.NamePrefix, s.Name, len(s.Name))
	case len(full) > maxRoleNameLen:
		v.add("name", "role name must be at most %d characters (it has %d)", maxRoleNameLen, len(s.Name))
	}
}

func isIAMNameRune(r rune) bool {
	return r < utf8.RuneSelf && iamNameRe.MatchString(string(r))
}

func (s RoleSpec) validateDescription(v *problems) {
	if n := utf8.RuneCountInString(s.Description); n > maxDescriptionLen {
		v.add("description", "description must be at most %d characters (it has %d)", maxDescriptionLen, n)
	}
	if !utf8.ValidString(s.Description) {
		v.add("description", "description is not valid UTF-8 text")
	} else if bad := firstBad(s.Description, isDescriptionRune); bad != "" {
		v.add("description", "description may contain only printable Latin-1 characters, tabs and line breaks (found %s)", bad)
	}
}

// isDescriptionRune follows IAM's pattern [\t\n\r\x20-\x7E\xA1-\xFF].
func isDescriptionRune(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r <= 0x7e) || (r >= 0xa1 && r <= 0xff)
}

func (s RoleSpec) validateSession(v *problems) {
	if d := s.MaxSessionDuration; d != 0 && (d < minSession || d > maxSession) {
		v.add("max_session_duration", "max session duration must be between %d (1 hour) and %d (12 hours) seconds (got %d)", minSession, maxSession, d)
	}
}

func (s RoleSpec) validateManaged(v *problems, set Settings) {
	if len(s.ManagedPolicies) > maxManagedPerRole {
		v.add("managed_policies", "at most %d managed policies can be attached to a role (got %d)", maxManagedPerRole, len(s.ManagedPolicies))
	}
	allowed := set.allowedPolicyARNs()
	seen := map[string]int{}
	for i, p := range s.ManagedPolicies {
		field := fmt.Sprintf("managed_policies[%d]", i)
		arn, err := set.managedPolicyARN(p)
		if err != nil {
			v.add(field, "%s", err.Error())
			continue
		}
		if !contains(allowed, arn) {
			if len(allowed) == 0 {
				v.add(field, "managed policy %q is not allowed: no managed policies may be requested here", p)
			} else {
				v.add(field, "managed policy %q is not allowed; choose from %s", p, strings.Join(set.AllowedManagedPolicies, ", "))
			}
			continue
		}
		if j, dup := seen[arn]; dup {
			v.add(field, "managed policy %q is listed twice (also as policy %d)", p, j+1)
			continue
		}
		seen[arn] = i
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// firstBad quotes the first rune that ok rejects, or returns "".
func firstBad(s string, ok func(rune) bool) string {
	for _, r := range s {
		if !ok(r) {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
				return fmt.Sprintf("the control character %U", r)
			}
			return fmt.Sprintf("%q", string(r))
		}
	}
	return ""
}
