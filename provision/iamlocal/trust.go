package iamlocal

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
)

// assumeRequest is what a trust policy is evaluated against: who asks and
// the external ID they gave (hasExternalID false when none was sent).
type assumeRequest struct {
	caller        caller
	externalID    string
	hasExternalID bool
}

// trustStatement is the part of a trust policy statement the evaluation
// reads; a field may be a string or a list (or, for Principal, "*").
type trustStatement struct {
	Effect       string
	Principal    json.RawMessage
	NotPrincipal json.RawMessage
	Action       json.RawMessage
	NotAction    json.RawMessage
	Condition    map[string]map[string]json.RawMessage
}

// trustAllows evaluates a role's trust policy for sts:AssumeRole the way
// IAM does for the subset the endpoint understands: a matching Deny
// refuses, else a matching Allow is needed. A statement matches when its
// Action covers sts:AssumeRole (wildcards allowed), its Principal's "AWS"
// names the caller (its account's root, the bare account ID, the caller's
// ARN or, for a session, its role's ARN; or "*") and every condition
// holds. The only condition understood is StringEquals on sts:ExternalId;
// any other (and NotPrincipal, NotAction) makes the statement not match,
// so the endpoint never allows what AWS might refuse for an Allow.
func trustAllows(doc string, req assumeRequest) bool {
	var top struct{ Statement json.RawMessage }
	if json.Unmarshal([]byte(doc), &top) != nil {
		return false
	}
	var statements []trustStatement
	if bytes.HasPrefix(bytes.TrimSpace(top.Statement), []byte("[")) {
		if json.Unmarshal(top.Statement, &statements) != nil {
			return false
		}
	} else {
		var one trustStatement
		if json.Unmarshal(top.Statement, &one) != nil {
			return false
		}
		statements = []trustStatement{one}
	}
	allowed := false
	for _, st := range statements {
		if !st.matches(req) {
			continue
		}
		if st.Effect == "Deny" {
			return false
		}
		allowed = allowed || st.Effect == "Allow"
	}
	return allowed
}

func (st trustStatement) matches(req assumeRequest) bool {
	if st.NotPrincipal != nil || st.NotAction != nil {
		return false
	}
	if !anyMatch(stringsOf(st.Action), func(a string) bool { return globMatch(a, "sts:AssumeRole") }) {
		return false
	}
	if !principalMatches(st.Principal, req.caller) {
		return false
	}
	for op, keys := range st.Condition {
		for key, values := range keys {
			if op != "StringEquals" || !strings.EqualFold(key, "sts:ExternalId") || !req.hasExternalID {
				return false
			}
			if !anyMatch(stringsOf(values), func(v string) bool { return v == req.externalID }) {
				return false
			}
		}
	}
	return true
}

// principalMatches reports whether a Principal element names the caller.
func principalMatches(raw json.RawMessage, c caller) bool {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		return star == "*"
	}
	var byType map[string]json.RawMessage
	if json.Unmarshal(raw, &byType) != nil {
		return false
	}
	names := map[string]bool{"*": true, c.account: true, rootARN(c.account): true, c.arn(): true}
	if c.session != nil {
		names[c.session.roleARN] = true
	}
	return anyMatch(stringsOf(byType["AWS"]), func(p string) bool { return names[p] })
}

// stringsOf reads a JSON string or list of strings; anything else is none.
func stringsOf(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

func anyMatch(values []string, ok func(string) bool) bool {
	for _, v := range values {
		if ok(v) {
			return true
		}
	}
	return false
}

// globMatch matches an IAM action pattern (* and ? wildcards, any case).
func globMatch(pattern, action string) bool {
	quoted := regexp.QuoteMeta(pattern)
	quoted = strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(quoted)
	re, err := regexp.Compile("(?i)^" + quoted + "$")
	return err == nil && re.MatchString(action)
}
