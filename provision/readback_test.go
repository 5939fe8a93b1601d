package provision

import (
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// iamState is the state of one plan's resources, read back from IAM or
// from the Terraform, in a form both can be compared in.
type iamState struct {
	RoleName, RolePath, Description string
	MaxSession                      int32
	Trust                           string
	Boundary                        string
	RoleTags                        map[string]string
	InlinePolicies                  map[string]string
	Attachments                     []string
	ProfileName, ProfilePath        string
	ProfileRoles                    []string
	ProfileTags                     map[string]string
}

// readBack reads the plan's resources through the SDK.
func readBack(t *testing.T, c *iam.Client, p Plan) iamState {
	t.Helper()
	ctx := ctxT(t)
	name := aws.String(p.Role.Name)
	role, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: name})
	if err != nil {
		t.Fatalf("GetRole: %v", err)
	}
	s := iamState{RoleName: aws.ToString(role.Role.RoleName), RolePath: aws.ToString(role.Role.Path),
		Description: aws.ToString(role.Role.Description), MaxSession: aws.ToInt32(role.Role.MaxSessionDuration),
		RoleTags: map[string]string{}, InlinePolicies: map[string]string{}, ProfileTags: map[string]string{}}
	if s.Trust, err = decodePolicyDocument(aws.ToString(role.Role.AssumeRolePolicyDocument)); err != nil {
		t.Fatal(err)
	}
	if role.Role.PermissionsBoundary != nil {
		s.Boundary = aws.ToString(role.Role.PermissionsBoundary.PermissionsBoundaryArn)
	}
	tags, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: name})
	if err != nil {
		t.Fatalf("ListRoleTags: %v", err)
	}
	for _, tg := range tags.Tags {
		s.RoleTags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	pols, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: name})
	if err != nil {
		t.Fatalf("ListRolePolicies: %v", err)
	}
	for _, n := range pols.PolicyNames {
		out, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: name, PolicyName: aws.String(n)})
		if err != nil {
			t.Fatalf("GetRolePolicy: %v", err)
		}
		if s.InlinePolicies[n], err = decodePolicyDocument(aws.ToString(out.PolicyDocument)); err != nil {
			t.Fatal(err)
		}
	}
	att, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: name})
	if err != nil {
		t.Fatalf("ListAttachedRolePolicies: %v", err)
	}
	for _, a := range att.AttachedPolicies {
		s.Attachments = append(s.Attachments, aws.ToString(a.PolicyArn))
	}
	sort.Strings(s.Attachments)
	prof, err := c.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(p.InstanceProfile.Name)})
	if err != nil {
		t.Fatalf("GetInstanceProfile: %v", err)
	}
	s.ProfileName, s.ProfilePath = aws.ToString(prof.InstanceProfile.InstanceProfileName), aws.ToString(prof.InstanceProfile.Path)
	for _, r := range prof.InstanceProfile.Roles {
		s.ProfileRoles = append(s.ProfileRoles, aws.ToString(r.RoleName))
	}
	for _, tg := range prof.InstanceProfile.Tags {
		s.ProfileTags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return s
}

// planState is what the plan says IAM should hold.
func planState(p Plan) iamState {
	tags := func(ts []Tag) map[string]string {
		m := map[string]string{}
		for _, t := range ts {
			m[t.Key] = t.Value
		}
		return m
	}
	return iamState{RoleName: p.Role.Name, RolePath: p.Role.Path, Description: p.Role.Description, MaxSession: p.Role.MaxSessionDuration,
		Trust: p.Role.TrustPolicy, Boundary: p.Role.PermissionsBoundaryARN, RoleTags: tags(p.Role.Tags),
		InlinePolicies: map[string]string{p.Policy.Name: p.Policy.Document}, Attachments: append([]string(nil), p.ManagedPolicies...),
		ProfileName: p.InstanceProfile.Name, ProfilePath: p.InstanceProfile.Path, ProfileRoles: []string{p.InstanceProfile.RoleName},
		ProfileTags: tags(p.InstanceProfile.Tags)}
}

func assertMatchesPlan(t *testing.T, got iamState, p Plan) {
	t.Helper()
	compareStates(t, "IAM", got, "plan", planState(p))
}

// compareStates asserts a and b describe the same resources, comparing
// policies as JSON.
func compareStates(t *testing.T, an string, a iamState, bn string, b iamState) {
	t.Helper()
	eqPolicy := func(what, x, y string) {
		same, err := policiesEqual(x, y)
		if err != nil || !same {
			t.Errorf("%s differs (%v):\n%s: %s\n%s: %s", what, err, an, x, bn, y)
		}
	}
	eqPolicy("trust policy", a.Trust, b.Trust)
	if len(a.InlinePolicies) != len(b.InlinePolicies) {
		t.Errorf("inline policies: %s has %d, %s has %d", an, len(a.InlinePolicies), bn, len(b.InlinePolicies))
	}
	for n, doc := range b.InlinePolicies {
		eqPolicy("inline policy "+n, a.InlinePolicies[n], doc)
	}
	a.Trust, b.Trust, a.InlinePolicies, b.InlinePolicies = "", "", nil, nil
	if len(a.Attachments) == 0 {
		a.Attachments = nil
	}
	if len(b.Attachments) == 0 {
		b.Attachments = nil
	}
	if !equalStates(a, b) {
		t.Errorf("state differs:\n%s: %+v\n%s: %+v", an, a, bn, b)
	}
}

func equalStates(a, b iamState) bool {
	eqMap := func(x, y map[string]string) bool {
		if len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || w != v {
				return false
			}
		}
		return true
	}
	eqList := func(x, y []string) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	return a.RoleName == b.RoleName && a.RolePath == b.RolePath && a.Description == b.Description && a.MaxSession == b.MaxSession &&
		a.Boundary == b.Boundary && eqMap(a.RoleTags, b.RoleTags) && eqList(a.Attachments, b.Attachments) &&
		a.ProfileName == b.ProfileName && a.ProfilePath == b.ProfilePath && eqList(a.ProfileRoles, b.ProfileRoles) && eqMap(a.ProfileTags, b.ProfileTags)
}
