package provision

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// DefaultProvisionerRoleName names the provisioner role of a spoke
// account whose role ARN is not configured yet.
const DefaultProvisionerRoleName = "rolegate-provisioner"

// spokePolicyName names the provisioner role's inline permission policy.
const spokePolicyName = "rolegate-provisioning"

// hubPrincipalRe matches the IAM ARNs a trust policy may name as its
// principal: a role, a user or an account's root.
var hubPrincipalRe = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):(root|(role|user)/([\x21-\x7e]+/)*[\w+=,.@-]{1,64})$`)

// HubPolicy returns the least-privilege IAM policy (JSON) of rolegate's
// own identity in a hub and spoke setup: sts:AssumeRole on exactly the
// provisioner roles of the configured accounts and, when an account is
// reached with rolegate's own credentials (no role ARN), ServicePolicy's
// statements for that account. It returns an error when no account has a
// role ARN (ServicePolicy is then the whole policy), or when two accounts
// have none, since rolegate's own credentials are in one account only.
func HubPolicy(set Settings) (string, error) {
	var arns, own []string
	for _, a := range set.Accounts {
		if a.Assumed() {
			arns = append(arns, a.RoleARN)
		} else {
			own = append(own, a.Name)
		}
	}
	if len(arns) == 0 {
		return "", errors.New("no account has a role_arn: --hub is for accounts reached through a provisioner role (list them with role_arn in the accounts file); without one, service-policy alone prints the policy rolegate needs")
	}
	if len(own) > 1 {
		return "", fmt.Errorf("accounts %s have no role_arn, but rolegate's own credentials are in one account only: give the others a role_arn", strings.Join(own, ", "))
	}
	slices.Sort(arns)
	doc := policyDocument{Version: policyVersion, Statement: []statement{
		{Sid: "AssumeProvisionerRoles", Effect: "Allow", Action: []string{"sts:AssumeRole"}, Resource: slices.Compact(arns)},
	}}
	if len(own) == 1 {
		in, _, _ := set.In(own[0]) // known: listed
		doc.Statement = append(doc.Statement, servicePolicyDocument(in).Statement...)
	}
	return marshalPolicy(doc)
}

// SpokeRole is the provisioner role of one spoke account, as an operator
// of that account creates it: named after the account's configured role
// ARN, trusting the hub, with ServicePolicy for the account's settings.
type SpokeRole struct {
	Account      Account
	Name, Path   string
	HubPrincipal string
	ExternalID   string
	// TrustPolicy admits HubPrincipal to sts:AssumeRole, with
	// ExternalID as the sts:ExternalId condition when it is set.
	TrustPolicy string
	// Policy is ServicePolicy of the account's settings.
	Policy string
}

// firstSpoke names the first account reached through a role, or "" (the
// default) when none is.
func firstSpoke(set Settings) string {
	for _, a := range set.Accounts {
		if a.Assumed() {
			return a.Name
		}
	}
	return ""
}

// NewSpokeRole builds the provisioner role of the account named account
// ("" is the first account with a role_arn, or the only account) for the hub identity hubPrincipal. An empty
// externalID takes the account's configured one. It returns an error,
// one line, when there is no such account, hubPrincipal is not the IAM
// ARN of a role, user or root of set's partition, the external ID is not
// one AWS accepts, or it differs from the account's configured one.
func NewSpokeRole(set Settings, account, hubPrincipal, externalID string) (SpokeRole, error) {
	if account == "" {
		account = firstSpoke(set)
	}
	in, a, err := set.In(account)
	if err != nil {
		return SpokeRole{}, err
	}
	if len(set.Accounts) > 0 && !a.Assumed() {
		return SpokeRole{}, fmt.Errorf("account %s has no role_arn: it is the hub, reached with rolegate's own credentials; name a spoke with --account", a.Name)
	}
	m := hubPrincipalRe.FindStringSubmatch(hubPrincipal)
	if m == nil {
		return SpokeRole{}, fmt.Errorf("hub principal must be the IAM ARN of the role, user or account root rolegate runs as, like arn:aws:iam::111111111111:role/rolegate (got %q)", hubPrincipal)
	}
	if m[1] != in.partition() {
		return SpokeRole{}, fmt.Errorf("hub principal %s is in partition %s, not in %s", hubPrincipal, m[1], in.partition())
	}
	// The trust policy admits the hub: a principal of the spoke itself,
	// or of an account other than the hub the accounts file names, would
	// let someone other than rolegate act through the provisioner role.
	if a.ID != "" && m[2] == a.ID {
		return SpokeRole{}, fmt.Errorf("hub principal %s is in account %s's own account (%s): give the role or user rolegate runs as in the hub", hubPrincipal, a.Name, a.ID)
	}
	if hub := hubAccount(set); hub.ID != "" && m[2] != hub.ID {
		return SpokeRole{}, fmt.Errorf("hub principal %s is in account %s, not in the hub %s (%s), whose credentials rolegate runs with", hubPrincipal, m[2], hub.Name, hub.ID)
	}
	switch {
	case externalID == "":
		externalID = a.ExternalID
	case a.ExternalID != "" && externalID != a.ExternalID:
		return SpokeRole{}, fmt.Errorf("external ID differs from the one the accounts file gives account %s: rolegate would be refused", a.Name)
	case len(externalID) < 2 || len(externalID) > 1224 || !externalIDRe.MatchString(externalID):
		return SpokeRole{}, errors.New("external ID must be 2 to 1224 letters, digits or + = , . @ : / - _")
	}
	r := SpokeRole{Account: a, Name: DefaultProvisionerRoleName, Path: "/", HubPrincipal: hubPrincipal, ExternalID: externalID}
	if path, name, ok := splitRoleARN(a.RoleARN); ok && roleARNRe.MatchString(a.RoleARN) {
		r.Path, r.Name = path, name
	}
	trust := statement{Sid: "AssumedByRolegate", Effect: "Allow", Principal: map[string]string{"AWS": hubPrincipal}, Action: []string{"sts:AssumeRole"}}
	if externalID != "" {
		trust.Condition = map[string]map[string][]string{"StringEquals": {"sts:ExternalId": {externalID}}}
	}
	if r.TrustPolicy, err = marshalPolicy(policyDocument{Version: policyVersion, Statement: []statement{trust}}); err != nil {
		return SpokeRole{}, err
	}
	r.Policy = ServicePolicy(in)
	return r, nil
}

// hubAccount is the account of set reached with rolegate's own
// credentials (the one without a role_arn), or the zero Account when set
// has several or none.
func hubAccount(set Settings) Account {
	var hub Account
	n := 0
	for _, a := range set.Accounts {
		if !a.Assumed() {
			hub, n = a, n+1
		}
	}
	if n != 1 {
		return Account{}
	}
	return hub
}
