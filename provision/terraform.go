package provision

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Terraform renders the plan as Terraform for audit: an aws_iam_role, its
// aws_iam_role_policy, one aws_iam_role_policy_attachment per managed
// policy, aws_iam_role_policies_exclusive and
// aws_iam_role_policy_attachments_exclusive (the role holds those and no
// others: AWS provider 5.72 or later) and an aws_iam_instance_profile,
// with import blocks so a team can
// adopt the live resources. Policies are jsonencode() of HCL objects made
// from the very JSON the reconciler sends. The output is canonical
// (hclwrite.Format). It returns an error only if a policy in the plan is
// not valid JSON. A plan into an account rolegate reaches by assuming a
// role (Account.Assumed) names that account's provider alias, aws.<name>,
// in every resource and import block (TerraformProviders configures it),
// and its resource labels carry the account, so the same role name in
// two accounts gives two resources of one module.
func Terraform(p Plan) ([]byte, error) {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(headerTokens(p))
	body.AppendNewline()

	label := terraformRoleLabel(p)
	roleRef := func(attr string) hcl.Traversal {
		return hcl.Traversal{hcl.TraverseRoot{Name: "aws_iam_role"}, hcl.TraverseAttr{Name: label}, hcl.TraverseAttr{Name: attr}}
	}

	role := newResource(body, p, "aws_iam_role", label)
	role.SetAttributeValue("name", cty.StringVal(p.Role.Name))
	role.SetAttributeValue("path", cty.StringVal(p.Role.Path))
	role.SetAttributeValue("description", cty.StringVal(p.Role.Description))
	trust, err := jsonencodeTokens(p.Role.TrustPolicy)
	if err != nil {
		return nil, fmt.Errorf("terraform: trust policy: %w", err)
	}
	role.SetAttributeRaw("assume_role_policy", trust)
	role.SetAttributeValue("max_session_duration", cty.NumberIntVal(int64(p.Role.MaxSessionDuration)))
	if p.Role.PermissionsBoundaryARN != "" {
		role.SetAttributeValue("permissions_boundary", cty.StringVal(p.Role.PermissionsBoundaryARN))
	}
	role.SetAttributeValue("tags", tagsValue(p.Role.Tags))
	body.AppendNewline()

	pol := newResource(body, p, "aws_iam_role_policy", label)
	pol.SetAttributeValue("name", cty.StringVal(p.Policy.Name))
	pol.SetAttributeTraversal("role", roleRef("name"))
	doc, err := jsonencodeTokens(p.Policy.Document)
	if err != nil {
		return nil, fmt.Errorf("terraform: inline policy: %w", err)
	}
	pol.SetAttributeRaw("policy", doc)
	body.AppendNewline()

	attLabels := attachmentLabels(label, p.ManagedPolicies)
	for i, arn := range p.ManagedPolicies {
		att := newResource(body, p, "aws_iam_role_policy_attachment", attLabels[i])
		att.SetAttributeTraversal("role", roleRef("name"))
		att.SetAttributeValue("policy_arn", cty.StringVal(arn))
		body.AppendNewline()
	}

	// The role holds these policies and no others, as rolegate's drift
	// repair keeps it: without the two *_exclusive resources, an inline
	// policy or a managed attachment added by hand would stay through
	// terraform apply, where rolegate removes it.
	ref := func(typ, label, attr string) hclwrite.Tokens {
		return hclwrite.TokensForTraversal(hcl.Traversal{hcl.TraverseRoot{Name: typ}, hcl.TraverseAttr{Name: label}, hcl.TraverseAttr{Name: attr}})
	}
	inl := newResource(body, p, "aws_iam_role_policies_exclusive", label)
	inl.SetAttributeTraversal("role_name", roleRef("name"))
	inl.SetAttributeRaw("policy_names", hclwrite.TokensForTuple([]hclwrite.Tokens{ref("aws_iam_role_policy", label, "name")}))
	body.AppendNewline()
	arns := make([]hclwrite.Tokens, 0, len(attLabels))
	for _, l := range attLabels {
		arns = append(arns, ref("aws_iam_role_policy_attachment", l, "policy_arn"))
	}
	excl := newResource(body, p, "aws_iam_role_policy_attachments_exclusive", label)
	excl.SetAttributeTraversal("role_name", roleRef("name"))
	excl.SetAttributeRaw("policy_arns", hclwrite.TokensForTuple(arns))
	body.AppendNewline()

	prof := newResource(body, p, "aws_iam_instance_profile", label)
	prof.SetAttributeValue("name", cty.StringVal(p.InstanceProfile.Name))
	prof.SetAttributeValue("path", cty.StringVal(p.InstanceProfile.Path))
	prof.SetAttributeTraversal("role", roleRef("name"))
	prof.SetAttributeValue("tags", tagsValue(p.InstanceProfile.Tags))

	// Import IDs as the AWS provider documents them for each resource type.
	imports := []struct{ typ, label, id string }{
		{"aws_iam_role", label, p.Role.Name},
		{"aws_iam_role_policy", label, p.Role.Name + ":" + p.Policy.Name},
	}
	for i, arn := range p.ManagedPolicies {
		imports = append(imports, struct{ typ, label, id string }{"aws_iam_role_policy_attachment", attLabels[i], p.Role.Name + "/" + arn})
	}
	imports = append(imports,
		struct{ typ, label, id string }{"aws_iam_role_policies_exclusive", label, p.Role.Name},
		struct{ typ, label, id string }{"aws_iam_role_policy_attachments_exclusive", label, p.Role.Name},
		struct{ typ, label, id string }{"aws_iam_instance_profile", label, p.InstanceProfile.Name})
	for _, im := range imports {
		body.AppendNewline()
		b := body.AppendNewBlock("import", nil).Body()
		setProvider(b, p)
		b.SetAttributeTraversal("to", hcl.Traversal{hcl.TraverseRoot{Name: im.typ}, hcl.TraverseAttr{Name: im.label}})
		b.SetAttributeValue("id", cty.StringVal(im.id))
	}
	return hclwrite.Format(f.Bytes()), nil
}

// headerTokens are the comment lines above the resources. Only the
// approval lines depend on the approval: a plan not approved yet (zero
// Meta.Time) says so instead of claiming approvers and a time, and every
// other byte is what the worker stores once the version is approved. The
// expiry is not printed: it is set at activation, after the Terraform is
// rendered, and shown by rolegate itself.
func headerTokens(p Plan) hclwrite.Tokens {
	lines := []string{
		"Rendered by rolegate for request " + p.Meta.RequestID + ".",
		"Requested by: " + p.Meta.Requester,
	}
	if p.Meta.Time.IsZero() {
		lines = append(lines, "Not approved yet.")
	} else {
		lines = append(lines,
			"Approved by: "+strings.Join(p.Meta.Approvers, ", "),
			"Approved at: "+p.Meta.Time.UTC().Format(time.RFC3339))
	}
	if p.Account.Assumed() {
		lines = append(lines, fmt.Sprintf("Account: %s (%s), through the provider aws.%s, which assumes %s.",
			p.Account.Name, p.Account.ID, p.Account.Name, p.Account.RoleARN))
	}
	lines = append(lines, "The import blocks adopt the live resources without recreating them.",
		"The *_exclusive resources remove policies the role should not hold, as rolegate does (hashicorp/aws 5.72 or later).")
	return commentTokens(lines...)
}

// commentSafe keeps a value on its comment line: a newline in a requester
// name must not become HCL.
func commentSafe(s string) string {
	return strings.TrimRightFunc(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s), unicode.IsSpace)
}

func tagsValue(tags []Tag) cty.Value {
	if len(tags) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	m := make(map[string]cty.Value, len(tags))
	for _, t := range tags {
		m[t.Key] = cty.StringVal(t.Value)
	}
	return cty.MapVal(m)
}

// TerraformLabel derives a Terraform resource label from a role name. A
// name that is already a valid identifier is used as is; otherwise the
// invalid characters become `_` and a short hash of the name is added, so
// two different role names never share a label (a name that looks like
// such a label is hashed as well). The result is stable.
func TerraformLabel(roleName string) string {
	var b strings.Builder
	for _, r := range roleName {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	label := b.String()
	if label == "" || !(unicode.IsLetter(rune(label[0])) || label[0] == '_') {
		label = "role_" + label
	}
	// A name that already ends like a hash suffix is hashed too: else
	// role "a_b_5f8d853a" would share the label of role "a.b".
	if label != roleName || hasHashSuffix(label) {
		label += "_" + shortHash(roleName)
	}
	return label
}

// hasHashSuffix reports whether label ends in "_" and the eight lowercase
// hex digits shortHash gives.
func hasHashSuffix(label string) bool {
	i := len(label) - 9
	if i < 0 || label[i] != '_' {
		return false
	}
	for _, r := range label[i+1:] {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

func attachmentLabels(roleLabel string, arns []string) []string {
	out := make([]string, len(arns))
	seen := map[string]bool{}
	for i, arn := range arns {
		name := arn[strings.LastIndex(arn, "/")+1:]
		l := TerraformLabel(roleLabel + "_" + name)
		if seen[l] {
			l += "_" + shortHash(arn)
		}
		seen[l] = true
		out[i] = l
	}
	return out
}

// jsonencodeTokens turns a JSON document into `jsonencode({...})` with the
// keys in the document's own order.
func jsonencodeTokens(doc string) (hclwrite.Tokens, error) {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	v, err := readOrdered(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after JSON document")
	}
	toks := hclwrite.Tokens{
		{Type: hclsyntax.TokenIdent, Bytes: []byte("jsonencode")},
		{Type: hclsyntax.TokenOParen, Bytes: []byte("(")},
	}
	toks = append(toks, valueTokens(v)...)
	return append(toks, &hclwrite.Token{Type: hclsyntax.TokenCParen, Bytes: []byte(")")}), nil
}

type orderedObject []orderedMember

type orderedMember struct {
	key string
	val any
}

func readOrdered(dec *json.Decoder) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		if t == '{' {
			var obj orderedObject
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := readOrdered(dec)
				if err != nil {
					return nil, err
				}
				obj = append(obj, orderedMember{kt.(string), v})
			}
			_, err := dec.Token()
			return obj, err
		}
		list := []any{}
		for dec.More() {
			v, err := readOrdered(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.Token()
		return list, err
	default:
		return t, nil
	}
}

func tok(t hclsyntax.TokenType, s string) *hclwrite.Token {
	return &hclwrite.Token{Type: t, Bytes: []byte(s)}
}

func valueTokens(v any) hclwrite.Tokens {
	nl := tok(hclsyntax.TokenNewline, "\n")
	switch v := v.(type) {
	case orderedObject:
		toks := hclwrite.Tokens{tok(hclsyntax.TokenOBrace, "{"), nl}
		for _, m := range v {
			if hclsyntax.ValidIdentifier(m.key) {
				toks = append(toks, tok(hclsyntax.TokenIdent, m.key))
			} else {
				toks = append(toks, hclwrite.TokensForValue(cty.StringVal(m.key))...)
			}
			toks = append(toks, tok(hclsyntax.TokenEqual, "="))
			toks = append(toks, valueTokens(m.val)...)
			toks = append(toks, nl)
		}
		return append(toks, tok(hclsyntax.TokenCBrace, "}"))
	case []any:
		multiline := false
		for _, e := range v {
			if _, ok := e.(orderedObject); ok {
				multiline = true
			}
		}
		toks := hclwrite.Tokens{tok(hclsyntax.TokenOBrack, "[")}
		for i, e := range v {
			if multiline {
				toks = append(toks, nl)
			} else if i > 0 {
				toks = append(toks, tok(hclsyntax.TokenComma, ","))
			}
			toks = append(toks, valueTokens(e)...)
			if multiline {
				toks = append(toks, tok(hclsyntax.TokenComma, ","))
			}
		}
		if multiline {
			toks = append(toks, nl)
		}
		return append(toks, tok(hclsyntax.TokenCBrack, "]"))
	case string:
		return hclwrite.TokensForValue(cty.StringVal(v))
	case json.Number:
		return hclwrite.Tokens{tok(hclsyntax.TokenNumberLit, v.String())}
	case bool:
		return hclwrite.TokensForValue(cty.BoolVal(v))
	default:
		return hclwrite.Tokens{tok(hclsyntax.TokenIdent, "null")}
	}
}
