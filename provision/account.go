package provision

import (
	"fmt"
	"maps"
	"regexp"
	"strings"
)

// DefaultAccountName names the one account rolegate provisions into when
// no accounts are configured: the account of its own credentials.
// Requests filed before accounts existed carry it.
const DefaultAccountName = "default"

// Account is one AWS account rolegate provisions into (hub and spoke: the
// worker assumes RoleARN, the account's provisioner role, and acts in the
// account as that role), with optional overrides of the global guardrails.
// Its keys are those of the accounts file.
type Account struct {
	// Name is the short name used in specs, routes and pages.
	Name string `json:"name" yaml:"name"`
	// ID is the 12-digit account ID.
	ID string `json:"id" yaml:"id"`
	// RoleARN is the provisioner role rolegate assumes in the account;
	// empty means rolegate's own credentials act in it (the hub account).
	RoleARN string `json:"role_arn,omitempty" yaml:"role_arn,omitempty"`
	// ExternalID, when set, is sent with every AssumeRole of RoleARN.
	ExternalID string `json:"external_id,omitempty" yaml:"external_id,omitempty"`

	// AllowedBuckets and DeniedBuckets, when set, replace the global ones
	// for requests into this account.
	AllowedBuckets []string `json:"allowed_buckets,omitempty" yaml:"allowed_buckets,omitempty"`
	DeniedBuckets  []string `json:"denied_buckets,omitempty" yaml:"denied_buckets,omitempty"`
	// PermissionsBoundary, when set, replaces the global boundary ARN; an
	// empty string removes it for this account.
	PermissionsBoundary *string `json:"permissions_boundary,omitempty" yaml:"permissions_boundary,omitempty"`
	// NamePrefix, when set, replaces the global name prefix.
	NamePrefix *string `json:"name_prefix,omitempty" yaml:"name_prefix,omitempty"`
	// Tags are added to the global tags, replacing those with the same key
	// (in any case: IAM ignores case in tag keys).
	Tags map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
	// Approvals and ApprovalsElevated, when above 0, replace the global
	// numbers of approvals for requests into this account.
	Approvals         int `json:"approvals,omitempty" yaml:"approvals,omitempty"`
	ApprovalsElevated int `json:"approvals_elevated,omitempty" yaml:"approvals_elevated,omitempty"`
}

// Assumed reports whether rolegate reaches the account by assuming its
// provisioner role (a spoke), rather than with its own credentials.
func (a Account) Assumed() bool { return a.RoleARN != "" }

var (
	accountNameRe = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$`)
	roleARNRe     = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role/([\x21-\x7e]+/)*[\w+=,.@-]{1,64}$`)
	externalIDRe  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

// splitRoleARN returns the path ("/" or "/a/b/") and the name of the
// role arn names, and false when arn is not a role's ARN (it has no
// ":role/").
func splitRoleARN(arn string) (path, name string, ok bool) {
	i := strings.Index(arn, ":role/")
	if i < 0 {
		return "", "", false
	}
	rest := arn[i+len(":role"):] // the path and the name
	j := strings.LastIndex(rest, "/")
	return rest[:j+1], rest[j+1:], true
}

// AccountNames lists the names of the accounts requests may name, the
// default first; DefaultAccountName alone when none are configured.
func (s Settings) AccountNames() []string {
	if len(s.Accounts) == 0 {
		return []string{DefaultAccountName}
	}
	names := make([]string, len(s.Accounts))
	for i, a := range s.Accounts {
		names[i] = a.Name
	}
	return names
}

// Account returns the account named name ("" is the default account) and
// whether there is one. With no accounts configured the only account is
// DefaultAccountName, the credentials' own, with the settings' AccountID.
func (s Settings) Account(name string) (Account, bool) {
	if len(s.Accounts) == 0 {
		if name != "" && name != DefaultAccountName {
			return Account{}, false
		}
		return Account{Name: DefaultAccountName, ID: s.AccountID}, true
	}
	if name == "" {
		return s.Accounts[0], true
	}
	for _, a := range s.Accounts {
		if a.Name == name {
			return a, true
		}
	}
	return Account{}, false
}

// In returns the settings for requests into the account named name (""
// is the default account): the account's overrides applied to s and
// AccountID set to the account's ID, with the account itself. It returns
// an error naming the accounts there are when there is no such account.
// In is idempotent: s.In(a) and s.In(a) then In(a) again are the same.
func (s Settings) In(name string) (Settings, Account, error) {
	a, ok := s.Account(name)
	if !ok {
		return s, Account{}, fmt.Errorf("unknown account %q: the accounts are %s", name, strings.Join(s.AccountNames(), ", "))
	}
	if a.ID != "" {
		s.AccountID = a.ID
	}
	if a.AllowedBuckets != nil {
		s.AllowedBuckets = a.AllowedBuckets
	}
	if a.DeniedBuckets != nil {
		s.DeniedBuckets = a.DeniedBuckets
	}
	if a.PermissionsBoundary != nil {
		s.PermissionsBoundaryARN = *a.PermissionsBoundary
	}
	if a.NamePrefix != nil {
		s.NamePrefix = *a.NamePrefix
	}
	if len(a.Tags) > 0 {
		tags := maps.Clone(s.Tags)
		if tags == nil {
			tags = map[string]string{}
		}
		// The same key to IAM, which ignores case in tag keys: IAM would
		// refuse a role carrying both.
		maps.DeleteFunc(tags, func(k, _ string) bool {
			for ak := range a.Tags {
				if strings.EqualFold(k, ak) {
					return true
				}
			}
			return false
		})
		maps.Copy(tags, a.Tags)
		s.Tags = tags
	}
	return s, a, nil
}

// unique adds to v, at field, badForm when value does not match re, or
// twice when seen holds it already; it records value in seen.
func unique(v *problems, field, value string, re *regexp.Regexp, seen map[string]bool, badForm, twice string) {
	switch {
	case !re.MatchString(value):
		v.add(field, badForm, value)
	case seen[value]:
		v.add(field, twice, value)
	}
	seen[value] = true
}

// validateAccounts checks the configured accounts, each account's
// overrides through the settings they make, into v.
func (s Settings) validateAccounts(v *problems) {
	names, ids := map[string]bool{}, map[string]bool{}
	for i, a := range s.Accounts {
		field := fmt.Sprintf("accounts[%d]", i)
		if a.Name != "" {
			field = fmt.Sprintf("accounts[%s]", a.Name)
		}
		unique(v, field+".name", a.Name, accountNameRe, names,
			"account name must be 1 to 32 lower-case letters, digits or hyphens, starting with a letter (got %q)", "account name %q is used twice")
		unique(v, field+".id", a.ID, accountIDRe, ids,
			"account ID must be 12 digits, quoted in YAML (got %q)", "account ID %q is used twice")
		if a.RoleARN != "" {
			m := roleARNRe.FindStringSubmatch(a.RoleARN)
			switch {
			case m == nil:
				v.add(field+".role_arn", "role ARN must look like arn:aws:iam::123456789012:role/rolegate-provisioner (got %q)", a.RoleARN)
			case m[2] != a.ID:
				v.add(field+".role_arn", "role ARN %s is in account %s, not in this account (%s)", a.RoleARN, m[2], a.ID)
			}
		}
		if a.ExternalID != "" && (len(a.ExternalID) < 2 || len(a.ExternalID) > 1224 || !externalIDRe.MatchString(a.ExternalID)) {
			v.add(field+".external_id", "external ID must be 2 to 1224 letters, digits or + = , . @ : / - _")
		}
		if a.ExternalID != "" && a.RoleARN == "" {
			v.add(field+".external_id", "an external ID needs a role_arn to assume")
		}
		if a.Approvals < 0 || a.ApprovalsElevated < 0 || (a.Approvals > 0 && a.ApprovalsElevated > 0 && a.ApprovalsElevated < a.Approvals) {
			v.add(field+".approvals", "approvals must not be negative and approvals_elevated not below approvals (got %d, %d)", a.Approvals, a.ApprovalsElevated)
		}
		// The overrides alone, so that a fault of a global setting is not
		// reported again for every account.
		only := Settings{RolePath: "/", MaxScopes: 1, Partition: s.Partition, Accounts: []Account{a}}
		in, _, _ := only.In(a.Name)
		in.Accounts = nil
		if merged, _, _ := s.In(a.Name); len(merged.Tags) > maxTagsPerEntity-3 {
			v.add(field+".tags", "at most %d tags are allowed with the global ones, since rolegate adds up to 3 of its own (got %d)", maxTagsPerEntity-3, len(merged.Tags))
		}
		if err := in.Validate(); err != nil {
			for _, p := range err.(*ValidationError).Problems {
				v.add(field+"."+p.Field, "%s", p.Message)
			}
		}
	}
}
