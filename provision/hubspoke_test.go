package provision

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// parsedPolicy is a policy document as a test reads it back.
type parsedPolicy struct {
	Version   string
	Statement []struct {
		Sid       string
		Effect    string
		Principal map[string]string
		Action    []string
		Resource  []string
		Condition map[string]map[string][]string
	}
}

func parsePolicyDoc(t *testing.T, doc string) parsedPolicy {
	t.Helper()
	var p parsedPolicy
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || p.Version != policyVersion {
		t.Fatalf("not a policy document (%v): %s", err, doc)
	}
	return p
}

// The hub may assume exactly the configured provisioner roles, and holds
// the IAM permissions of the one account it reaches itself.
func TestHubPolicy(t *testing.T) {
	t.Parallel()
	set := twoAccounts()
	set.Accounts = append(set.Accounts, Account{Name: "staging", ID: "333333333333", RoleARN: "arn:aws:iam::333333333333:role/ops/rolegate-provisioner"})
	doc, err := HubPolicy(set)
	if err != nil {
		t.Fatal(err)
	}
	p := parsePolicyDoc(t, doc)
	var sts []string
	sids := map[string]bool{}
	for _, st := range p.Statement {
		if sids[st.Sid] {
			t.Errorf("Sid %s twice", st.Sid)
		}
		sids[st.Sid] = true
		for _, a := range st.Action {
			if strings.HasPrefix(a, "sts:") {
				sts = append(sts, a)
				if want := []string{"arn:aws:iam::222222222222:role/rolegate-provisioner", "arn:aws:iam::333333333333:role/ops/rolegate-provisioner"}; !slices.Equal(st.Resource, want) {
					t.Errorf("%s on %v, want exactly %v", a, st.Resource, want)
				}
			}
		}
		for _, r := range st.Resource {
			if strings.Contains(r, "222222222222") && !strings.Contains(r, ":role/rolegate-provisioner") {
				t.Errorf("the hub's policy reaches into the spoke prod: %s", r)
			}
		}
	}
	if !slices.Equal(sts, []string{"sts:AssumeRole"}) {
		t.Errorf("sts actions %v, want sts:AssumeRole once", sts)
	}
	dev, _, _ := set.In("dev")
	own := parsePolicyDoc(t, ServicePolicy(dev))
	if len(p.Statement) != 1+len(own.Statement) || !strings.Contains(doc, "arn:aws:iam::111111111111:role/rolegate/*") {
		t.Errorf("the hub's own account's IAM permissions are not the service policy of dev:\n%s", doc)
	}

	// Every account assumed: sts:AssumeRole alone.
	set.Accounts = set.Accounts[1:]
	doc, err = HubPolicy(set)
	if err != nil || len(parsePolicyDoc(t, doc).Statement) != 1 || strings.Contains(doc, `"iam:`) {
		t.Errorf("all assumed: %v\n%s", err, doc)
	}

	for name, set := range map[string]Settings{
		"no accounts file": testSettings(),
		"no role_arn":      {RolePath: "/", MaxScopes: 1, Accounts: []Account{{Name: "a", ID: "111111111111"}}},
		"two own":          {RolePath: "/", MaxScopes: 1, Accounts: []Account{{Name: "a", ID: "111111111111"}, {Name: "b", ID: "222222222222"}, twoAccounts().Accounts[1]}},
	} {
		if _, err := HubPolicy(set); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err %v, want one line", name, err)
		}
	}
}

func TestSpokeRole(t *testing.T) {
	t.Parallel()
	set := twoAccounts()
	set.Accounts[1].ExternalID = ""
	set.Accounts = append(set.Accounts, Account{Name: "staging", ID: "333333333333", RoleARN: "arn:aws:iam::333333333333:role/ops/team/rolegate-provisioner", ExternalID: "staging-x"})
	hub := "arn:aws:iam::111111111111:role/rolegate"

	r, err := NewSpokeRole(set, "prod", hub, "")
	if err != nil {
		t.Fatal(err)
	}
	prod, _, _ := set.In("prod")
	if r.Name != "rolegate-provisioner" || r.Path != "/" || r.Policy != ServicePolicy(prod) {
		t.Errorf("prod's role: %s%s, policy of prod's settings %v", r.Path, r.Name, r.Policy == ServicePolicy(prod))
	}
	trust := parsePolicyDoc(t, r.TrustPolicy)
	if len(trust.Statement) != 1 || trust.Statement[0].Principal["AWS"] != hub || !slices.Equal(trust.Statement[0].Action, []string{"sts:AssumeRole"}) ||
		trust.Statement[0].Condition != nil || trust.Statement[0].Effect != "Allow" {
		t.Errorf("trust without an external ID: %s", r.TrustPolicy)
	}

	r, err = NewSpokeRole(set, "prod", hub, "given-x")
	if err != nil {
		t.Fatal(err)
	}
	if got := parsePolicyDoc(t, r.TrustPolicy).Statement[0].Condition; !slices.Equal(got["StringEquals"]["sts:ExternalId"], []string{"given-x"}) || len(got) != 1 {
		t.Errorf("trust with an external ID: %s", r.TrustPolicy)
	}

	// The account's configured role and external ID are taken.
	r, err = NewSpokeRole(set, "staging", hub, "")
	if err != nil || r.Path != "/ops/team/" || r.Name != "rolegate-provisioner" || r.ExternalID != "staging-x" ||
		!strings.Contains(r.TrustPolicy, `"sts:ExternalId":["staging-x"]`) {
		t.Errorf("staging: %+v, %v", r, err)
	}
	tf, err := SpokeRoleTerraform(r)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "spoke-role.tf", tf)
	hubDoc, _ := HubPolicy(set)
	hubTF, err := PolicyTerraform("rolegate-hub", "rolegate's own permissions", hubDoc)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "hub-policy.tf", hubTF)
	t.Run("terraform fmt", func(t *testing.T) {
		t.Parallel()
		terraformFmtCheck(t, append(append(tf, '\n'), hubTF...))
	})

	for _, bad := range []struct{ account, hub, ext string }{
		{"prod", "arn:aws:sts::111111111111:assumed-role/rolegate/session", ""},
		{"prod", "111111111111", ""},
		{"prod", "arn:aws:iam::111111111111:group/admins", ""},
		{"prod", "arn:aws-cn:iam::111111111111:role/rolegate", ""},
		{"prod", hub, "x"},
		{"prod", hub, "has space"},
		{"staging", hub, "other-x"},
		{"nowhere", hub, ""},
		{"prod", "arn:aws:iam::222222222222:role/rolegate", ""}, // the spoke's own account
		{"prod", "arn:aws:iam::444444444444:role/rolegate", ""}, // not the hub's
	} {
		if _, err := NewSpokeRole(set, bad.account, bad.hub, bad.ext); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: err %v, want one line", bad, err)
		}
	}
	for _, ok := range []string{"arn:aws:iam::111111111111:root", "arn:aws:iam::111111111111:user/ci/rolegate"} {
		if _, err := NewSpokeRole(set, "", ok, ""); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
