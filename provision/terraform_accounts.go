package provision

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// TerraformSessionName is the session name of the provider aliases'
// AssumeRole, so that CloudTrail tells an auditor's Terraform runs from
// rolegate's own sessions.
const TerraformSessionName = "rolegate-terraform"

// terraformRoleLabel is the label of every resource of p. A plan into an
// assumed account adds the account: the same role name may exist in two
// accounts, and both must fit in one exported module. The ":" cannot be
// in a role name, so no role of the hub account shares such a label.
func terraformRoleLabel(p Plan) string {
	if p.Account.Assumed() {
		return TerraformLabel(p.Account.Name + ":" + p.Role.Name)
	}
	return TerraformLabel(p.Role.Name)
}

// newResource appends a resource block of p, with the account's provider
// when p's account is assumed, and returns its body.
func newResource(body *hclwrite.Body, p Plan, typ, label string) *hclwrite.Body {
	b := body.AppendNewBlock("resource", []string{typ, label}).Body()
	setProvider(b, p)
	return b
}

// setProvider sets `provider = aws.<account>` on b when p's account is
// reached through its provisioner role; with rolegate's own credentials
// the default provider is meant, and nothing is set.
func setProvider(b *hclwrite.Body, p Plan) {
	if p.Account.Assumed() {
		b.SetAttributeTraversal("provider", providerRef(p.Account.Name))
	}
}

func providerRef(alias string) hcl.Traversal {
	return hcl.Traversal{hcl.TraverseRoot{Name: "aws"}, hcl.TraverseAttr{Name: alias}}
}

// TerraformProviders renders the AWS provider configurations the roles'
// Terraform names: the default `provider "aws" {}` (the credentials of
// whoever runs Terraform, the hub account's) and, for every account
// reached by assuming a role, one aliased provider named after the
// account that assumes that role (with its external ID when set) and
// refuses to act in any other account. Aliases come sorted by name, so
// the output does not depend on the order of the accounts file. It
// returns an error when an assumed account's name is not a Terraform
// identifier or two share a name (Settings.Validate rules out both).
func TerraformProviders(accounts []Account) ([]byte, error) {
	var assumed []Account
	hubIDs := map[string]bool{}
	for _, a := range accounts {
		if a.Assumed() {
			assumed = append(assumed, a)
		} else if a.ID != "" {
			hubIDs[a.ID] = true
		}
	}
	slices.SortFunc(assumed, func(a, b Account) int { return strings.Compare(a.Name, b.Name) })
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(commentTokens(
		"Rendered by rolegate: the AWS providers of its accounts.",
		"The default provider uses the credentials Terraform runs with (the hub account's);",
		"each alias assumes the provisioner role of one account, so a plan run with hub",
		"credentials reads every account. AWS_REGION must be set (IAM is global: any region)."))
	body.AppendNewline()
	hub := body.AppendNewBlock("provider", []string{"aws"}).Body()
	// The hub's ID, when the accounts name it, keeps a plan run with
	// another account's credentials from reading (or changing) the wrong
	// account, as each alias's does.
	if len(hubIDs) == 1 {
		for id := range hubIDs {
			hub.SetAttributeValue("allowed_account_ids", cty.ListVal([]cty.Value{cty.StringVal(id)}))
		}
	}
	for i, a := range assumed {
		if !hclsyntax.ValidIdentifier(a.Name) {
			return nil, fmt.Errorf("terraform providers: account name %q is not a Terraform identifier", a.Name)
		}
		if i > 0 && assumed[i-1].Name == a.Name {
			return nil, fmt.Errorf("terraform providers: two accounts are named %q", a.Name)
		}
		body.AppendNewline()
		p := body.AppendNewBlock("provider", []string{"aws"}).Body()
		p.SetAttributeValue("alias", cty.StringVal(a.Name))
		if a.ID != "" {
			p.SetAttributeValue("allowed_account_ids", cty.ListVal([]cty.Value{cty.StringVal(a.ID)}))
		}
		p.AppendNewline()
		ar := p.AppendNewBlock("assume_role", nil).Body()
		ar.SetAttributeValue("role_arn", cty.StringVal(a.RoleARN))
		if a.ExternalID != "" {
			ar.SetAttributeValue("external_id", cty.StringVal(a.ExternalID))
		}
		ar.SetAttributeValue("session_name", cty.StringVal(TerraformSessionName))
	}
	return hclwrite.Format(f.Bytes()), nil
}

// commentTokens are comment lines, each made safe to stay on its line.
func commentTokens(lines ...string) hclwrite.Tokens {
	var toks hclwrite.Tokens
	for _, l := range lines {
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenComment, Bytes: []byte("# " + commentSafe(l) + "\n")})
	}
	return toks
}

// PolicyTerraform renders a policy document of rolegate's own identity
// (ServicePolicy, HubPolicy) as an aws_iam_policy named name, to attach
// to the role or user rolegate runs as. It returns an error only when
// doc is not valid JSON.
func PolicyTerraform(name, description, doc string) ([]byte, error) {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(commentTokens("Rendered by rolegate service-policy: attach it to the identity rolegate runs as."))
	body.AppendNewline()
	pol := body.AppendNewBlock("resource", []string{"aws_iam_policy", TerraformLabel(name)}).Body()
	pol.SetAttributeValue("name", cty.StringVal(name))
	pol.SetAttributeValue("description", cty.StringVal(description))
	toks, err := jsonencodeTokens(doc)
	if err != nil {
		return nil, fmt.Errorf("terraform: policy: %w", err)
	}
	pol.SetAttributeRaw("policy", toks)
	return hclwrite.Format(f.Bytes()), nil
}

// SpokeRoleTerraform renders the provisioner role of a spoke account: an
// aws_iam_role whose trust policy admits the hub, and its permission
// policy as an aws_iam_role_policy. It returns an error only when a
// policy of r is not valid JSON.
func SpokeRoleTerraform(r SpokeRole) ([]byte, error) {
	f := hclwrite.NewEmptyFile()
	body := f.Body()
	body.AppendUnstructuredTokens(commentTokens(
		"Rendered by rolegate service-policy --spoke: the provisioner role of account "+r.Account.Name+",",
		"assumed by "+r.HubPrincipal+" to provision roles here. Apply it in this account."))
	body.AppendNewline()
	label := TerraformLabel(r.Name)
	role := body.AppendNewBlock("resource", []string{"aws_iam_role", label}).Body()
	role.SetAttributeValue("name", cty.StringVal(r.Name))
	role.SetAttributeValue("path", cty.StringVal(r.Path))
	role.SetAttributeValue("description", cty.StringVal("Assumed by rolegate to provision the roles it brokers"))
	trust, err := jsonencodeTokens(r.TrustPolicy)
	if err != nil {
		return nil, fmt.Errorf("terraform: trust policy: %w", err)
	}
	role.SetAttributeRaw("assume_role_policy", trust)
	body.AppendNewline()
	pol := body.AppendNewBlock("resource", []string{"aws_iam_role_policy", label}).Body()
	pol.SetAttributeValue("name", cty.StringVal(spokePolicyName))
	pol.SetAttributeTraversal("role", hcl.Traversal{hcl.TraverseRoot{Name: "aws_iam_role"}, hcl.TraverseAttr{Name: label}, hcl.TraverseAttr{Name: "name"}})
	doc, err := jsonencodeTokens(r.Policy)
	if err != nil {
		return nil, fmt.Errorf("terraform: permission policy: %w", err)
	}
	pol.SetAttributeRaw("policy", doc)
	return hclwrite.Format(f.Bytes()), nil
}
