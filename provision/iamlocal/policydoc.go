package iamlocal

import (
	"bytes"
	"encoding/json"
)

// policyKind tells identity policies (inline and managed) from trust
// policies, which IAM validates differently.
type policyKind int

const (
	identityPolicy policyKind = iota
	trustPolicy
)

func malformed(msg string) *apiError { return newError("MalformedPolicyDocument", "%s", msg) }

// checkPolicyDocument validates a policy's JSON grammar the way IAM does
// before storing it; it returns MalformedPolicyDocument with IAM's wording.
func checkPolicyDocument(doc, field string, kind policyKind) *apiError {
	if err := checkPolicyChars(doc, field); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
	dec.UseNumber()
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil || dec.More() {
		return malformed("This policy contains invalid Json")
	}
	for key := range top {
		switch key {
		case "Version", "Id", "Statement":
		default:
			return malformed("Syntax errors in policy.")
		}
	}
	if raw, ok := top["Version"]; ok {
		var v string
		if json.Unmarshal(raw, &v) != nil || (v != "2012-10-17" && v != "2008-10-17") {
			return malformed("The policy failed legacy parsing")
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return malformed("Syntax errors in policy.")
	}
	var statements []map[string]json.RawMessage
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("[")) {
		if json.Unmarshal(raw, &statements) != nil || len(statements) == 0 {
			return malformed("Syntax errors in policy.")
		}
	} else {
		var one map[string]json.RawMessage
		if json.Unmarshal(raw, &one) != nil || one == nil {
			return malformed("Syntax errors in policy.")
		}
		statements = append(statements, one)
	}
	for _, st := range statements {
		if err := checkStatement(st, kind); err != nil {
			return err
		}
	}
	return nil
}

func checkStatement(st map[string]json.RawMessage, kind policyKind) *apiError {
	if st == nil {
		return malformed("Syntax errors in policy.")
	}
	for key := range st {
		switch key {
		case "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource",
			"Principal", "NotPrincipal", "Condition":
		default:
			return malformed("Syntax errors in policy.")
		}
	}
	var effect string
	if json.Unmarshal(st["Effect"], &effect) != nil || (effect != "Allow" && effect != "Deny") {
		return malformed("Syntax errors in policy.")
	}
	_, action := st["Action"]
	_, notAction := st["NotAction"]
	if !action && !notAction {
		return malformed("Policy statement must contain actions.")
	}
	_, resource := st["Resource"]
	_, notResource := st["NotResource"]
	_, principal := st["Principal"]
	_, notPrincipal := st["NotPrincipal"]
	switch kind {
	case identityPolicy:
		if principal || notPrincipal {
			return malformed("Policy document should not specify a principal.")
		}
		if !resource && !notResource {
			return malformed("Policy statement must contain resources.")
		}
	case trustPolicy:
		if resource || notResource {
			return malformed("Has prohibited field Resource")
		}
		if !principal && !notPrincipal {
			return malformed("Missing required field Principal")
		}
	}
	return nil
}
