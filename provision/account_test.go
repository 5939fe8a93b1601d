package provision

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

// twoAccounts is a hub-and-spoke configuration: dev reached with
// rolegate's own credentials, prod through its provisioner role, with
// overrides of the guardrails.
func twoAccounts() Settings {
	set := testSettings()
	set.AllowedBuckets = []string{"team-*"}
	set.Tags = map[string]string{"team": "platform"}
	boundary := "arn:aws:iam::222222222222:policy/prod-boundary"
	prefix := "prod-"
	set.Accounts = []Account{
		{Name: "dev", ID: "111111111111"},
		{Name: "prod", ID: "222222222222", RoleARN: "arn:aws:iam::222222222222:role/rolegate-provisioner", ExternalID: "rolegate-prod",
			AllowedBuckets: []string{"prod-*"}, PermissionsBoundary: &boundary, NamePrefix: &prefix, Tags: map[string]string{"env": "prod"}},
	}
	return set
}

func TestSettingsInAccount(t *testing.T) {
	t.Parallel()
	set := twoAccounts()
	if got := set.AccountNames(); !slices.Equal(got, []string{"dev", "prod"}) {
		t.Fatalf("AccountNames = %v", got)
	}
	dev, a, err := set.In("")
	if err != nil || a.Name != "dev" || dev.AccountID != "111111111111" || dev.NamePrefix != "" || !slices.Equal(dev.AllowedBuckets, []string{"team-*"}) {
		t.Fatalf(`In("") = %+v, %+v, %v; want the first account with the global guardrails`, dev, a, err)
	}
	prod, a, err := set.In("prod")
	if err != nil || !a.Assumed() || prod.AccountID != "222222222222" || prod.NamePrefix != "prod-" ||
		prod.PermissionsBoundaryARN != "arn:aws:iam::222222222222:policy/prod-boundary" || !slices.Equal(prod.AllowedBuckets, []string{"prod-*"}) ||
		prod.Tags["env"] != "prod" || prod.Tags["team"] != "platform" {
		t.Fatalf(`In("prod") = %+v, %v; want prod's overrides over the global settings`, prod, err)
	}
	if set.Tags["env"] != "" {
		t.Fatal("In changed the global tags")
	}
	again, _, _ := prod.In("prod")
	if again.NamePrefix != prod.NamePrefix || len(again.Tags) != len(prod.Tags) || again.AccountID != prod.AccountID {
		t.Fatalf("In is not idempotent: %+v", again)
	}
	if _, _, err := set.In("staging"); err == nil || !strings.Contains(err.Error(), "dev, prod") {
		t.Fatalf(`In("staging") error = %v, want one naming the accounts`, err)
	}
	// No accounts configured: one account, the credentials' own.
	single := testSettings()
	single.AccountID = "123456789012"
	if s, a, err := single.In(""); err != nil || a.Name != DefaultAccountName || s.AccountID != "123456789012" || a.Assumed() {
		t.Fatalf(`single In("") = %+v, %v`, a, err)
	}
	if _, _, err := single.In(DefaultAccountName); err != nil {
		t.Fatalf("single In(default): %v", err)
	}
	if _, _, err := single.In("prod"); err == nil {
		t.Fatal(`single In("prod") succeeded`)
	}
}

func TestAccountsValidate(t *testing.T) {
	t.Parallel()
	bad := "arn:aws:iam::222222222222:nope"
	tests := []struct {
		name  string
		edit  func(*Settings)
		field string
		msg   string
	}{
		{"valid", func(*Settings) {}, "", ""},
		{"name", func(s *Settings) { s.Accounts[0].Name = "Dev Account" }, "accounts[Dev Account].name", "lower-case"},
		{"name twice", func(s *Settings) { s.Accounts[1].Name = "dev" }, "accounts[dev].name", "used twice"},
		{"id", func(s *Settings) { s.Accounts[0].ID = "1234" }, "accounts[dev].id", "12 digits"},
		{"id twice", func(s *Settings) { s.Accounts[1].ID = "111111111111"; s.Accounts[1].RoleARN = "" }, "accounts[prod].id", "used twice"},
		{"role ARN shape", func(s *Settings) { s.Accounts[1].RoleARN = "rolegate-provisioner" }, "accounts[prod].role_arn", "must look like"},
		{"role ARN account", func(s *Settings) { s.Accounts[1].RoleARN = "arn:aws:iam::333333333333:role/p" }, "accounts[prod].role_arn", "in account 333333333333, not in this account (222222222222)"},
		{"external ID without role", func(s *Settings) { s.Accounts[0].ExternalID = "xyz" }, "accounts[dev].external_id", "needs a role_arn"},
		{"external ID characters", func(s *Settings) { s.Accounts[1].ExternalID = "has space" }, "accounts[prod].external_id", "2 to 1224"},
		{"approvals", func(s *Settings) { s.Accounts[1].Approvals, s.Accounts[1].ApprovalsElevated = 3, 2 }, "accounts[prod].approvals", "not below"},
		{"boundary override", func(s *Settings) { s.Accounts[1].PermissionsBoundary = &bad }, "accounts[prod].permissions_boundary", "managed policy ARN"},
		{"bucket override", func(s *Settings) { s.Accounts[1].DeniedBuckets = []string{"Bad_Bucket"} }, "accounts[prod].denied_buckets[0]", "lower-case"},
		{"reserved tag", func(s *Settings) { s.Accounts[1].Tags = map[string]string{"managed-by": "x"} }, "accounts[prod].tags[managed-by]", "reserved"},
		{"tag keys equal but for case", func(s *Settings) { s.Accounts[1].Tags = map[string]string{"Env": "a", "env": "b"} }, "accounts[prod].tags[env]", `same key as "Env" to IAM`},
		{"global tag keys equal but for case", func(s *Settings) { s.Tags = map[string]string{"Team": "a", "team": "b"} }, "tags[team]", `same key as "Team" to IAM`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			set := twoAccounts()
			tc.edit(&set)
			wantProblem(t, set.Validate(), tc.field, tc.msg, false)
		})
	}
}

func TestPlanInAccount(t *testing.T) {
	t.Parallel()
	set := twoAccounts()
	spec := RoleSpec{Name: "reader", Account: "prod", Buckets: []BucketScope{{Bucket: "prod-data", Access: AccessRead}}}
	p, err := NewPlan(spec, set, PlanMeta{RequestID: "req-1"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Account.Name != "prod" || p.Account.RoleARN == "" || p.Role.Name != "prod-reader" ||
		p.RoleARN() != "arn:aws:iam::222222222222:role/rolegate/prod-reader" || p.Role.PermissionsBoundaryARN == "" {
		t.Fatalf("plan = %+v (ARN %s), want prod's account, prefix and boundary", p.Account, p.RoleARN())
	}
	// The default account's guardrails still hold for the same spec there.
	spec.Account = ""
	var ve *ValidationError
	if _, err := NewPlan(spec, set, PlanMeta{RequestID: "req-2"}); !errors.As(err, &ve) || ve.Problems[0].Field != "buckets[0].bucket" {
		t.Fatalf("plan in dev for a prod bucket: %v, want a bucket problem", err)
	}
	spec.Account = "staging"
	if err := spec.Validate(set); !errors.As(err, &ve) || ve.Problems[0].Field != "account" ||
		ve.Problems[0].Message != `there is no account named "staging"; the accounts are dev, prod` {
		t.Fatalf("unknown account: %v", err)
	}
}

// A role that went live in a spoke is planned under its IAM name and path
// after the account's name_prefix and the role path changed, and the
// caller's settings are not changed by it.
func TestKeepingPlansTheLiveNameInAnAccount(t *testing.T) {
	t.Parallel()
	set := twoAccounts()
	spec := RoleSpec{Name: "reader", Account: "prod", Buckets: []BucketScope{{Bucket: "prod-data", Access: AccessRead}}}
	newPrefix := "p-"
	set.Accounts[1].NamePrefix = &newPrefix
	set.RolePath = "/moved/"
	kept := set.Keeping("prod", "reader", "arn:aws:iam::222222222222:role/rolegate/team/prod-reader")
	p, err := NewPlan(spec, kept, PlanMeta{RequestID: "req-1"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Role.Name != "prod-reader" || p.Role.Path != "/rolegate/team/" || p.InstanceProfile.Name != "prod-reader" ||
		p.InstanceProfile.Path != "/rolegate/team/" || p.RoleARN() != "arn:aws:iam::222222222222:role/rolegate/team/prod-reader" {
		t.Fatalf("plan of the live role = %s %s%s, want its IAM name and path", p.RoleARN(), p.InstanceProfile.Path, p.InstanceProfile.Name)
	}
	if *set.Accounts[1].NamePrefix != "p-" || set.RolePath != "/moved/" {
		t.Fatal("Keeping changed the caller's settings")
	}
	if got := set.Keeping("prod", "reader", ""); got.RolePath != "/moved/" || *got.Accounts[1].NamePrefix != "p-" {
		t.Fatal("a role that never went live is planned under other settings than the current ones")
	}
}

func TestSplitRoleARN(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		arn, path, name string
		ok              bool
	}{
		{"arn:aws:iam::123456789012:role/rolegate-provisioner", "/", "rolegate-provisioner", true},
		{"arn:aws:iam::123456789012:role/rolegate/app-reader", "/rolegate/", "app-reader", true},
		{"arn:aws-cn:iam::123456789012:role/a/b/c/rg-app", "/a/b/c/", "rg-app", true},
		{"arn:aws:iam::123456789012:role/", "/", "", true},
		{"arn:aws:iam::123456789012:user/alice", "", "", false},
		{"arn:aws:iam::123456789012:instance-profile/rolegate/app", "", "", false},
		{"", "", "", false},
	} {
		path, name, ok := splitRoleARN(tt.arn)
		if path != tt.path || name != tt.name || ok != tt.ok {
			t.Errorf("splitRoleARN(%q) = %q, %q, %t; want %q, %q, %t", tt.arn, path, name, ok, tt.path, tt.name, tt.ok)
		}
	}
}

// TestAccountTagReplacesGlobalTagOfAnyCase: IAM ignores case in tag keys
// and refuses a role created with two keys that differ only in case, so an
// account's tag replaces the global tag of the same key in any case.
func TestAccountTagReplacesGlobalTagOfAnyCase(t *testing.T) {
	t.Parallel()
	set := twoAccounts()
	set.Tags = map[string]string{"Team": "platform", "cost-center": "42"}
	set.Accounts[1].Tags = map[string]string{"team": "prod-team"}
	if err := set.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	prod, _, err := set.In("prod")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"team": "prod-team", "cost-center": "42"}; !maps.Equal(prod.Tags, want) {
		t.Errorf("prod's tags = %v, want %v", prod.Tags, want)
	}
	if set.Tags["Team"] != "platform" {
		t.Errorf("In changed the global tags: %v", set.Tags)
	}
	p, err := NewPlan(RoleSpec{Name: "reader", Account: "prod", Buckets: []BucketScope{{Bucket: "prod-data", Access: AccessRead}}}, set, PlanMeta{RequestID: "req-1"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, tg := range p.Role.Tags {
		if k, dup := seen[strings.ToLower(tg.Key)]; dup {
			t.Errorf("the plan tags the role with %q and %q, which IAM refuses", k, tg.Key)
		}
		seen[strings.ToLower(tg.Key)] = tg.Key
	}
}
