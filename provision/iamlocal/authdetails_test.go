package iamlocal_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

// TestAuthDetailsPagesAcrossKinds pages through roles and customer-managed
// policies together, two items a page: every entity comes once, roles
// first, and the Marker crosses from one kind to the other.
func TestAuthDetailsPagesAcrossKinds(t *testing.T) {
	t.Parallel()
	_, c := setup(t, iamlocal.Options{})
	ctx := context.Background()
	var want []string
	for i := range 3 {
		name := fmt.Sprintf("role-%d", i)
		_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustEC2)})
		must(t, "CreateRole", err)
		want = append(want, "role "+name)
	}
	for i := range 2 {
		name := fmt.Sprintf("policy-%d", i)
		out, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(readBucket)})
		must(t, "CreatePolicy", err)
		want = append(want, "policy "+aws.ToString(out.Policy.PolicyName))
	}
	var got []string
	pages := 0
	pg := iam.NewGetAccountAuthorizationDetailsPaginator(c, &iam.GetAccountAuthorizationDetailsInput{MaxItems: aws.Int32(2)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		must(t, "GetAccountAuthorizationDetails", err)
		pages++
		if n := len(out.RoleDetailList) + len(out.Policies); n > 2 {
			t.Errorf("page %d holds %d items, want at most 2", pages, n)
		}
		for _, r := range out.RoleDetailList {
			got = append(got, "role "+aws.ToString(r.RoleName))
		}
		for _, p := range out.Policies {
			got = append(got, "policy "+aws.ToString(p.PolicyName))
		}
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Errorf("got %v in %d pages, want %v in 3", got, pages, want)
	}
	_, err := c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Marker: aws.String("!not a marker")})
	if code := errorCode(t, err); code != "InvalidInput" {
		t.Errorf("bad Marker: error code %q, want InvalidInput", code)
	}
}

// TestAuthDetailsSeesWhatReadsSee: a role younger than the consistency
// delay is missing from the bulk read, as from GetRole.
func TestAuthDetailsSeesWhatReadsSee(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	_, c := setup(t, iamlocal.Options{ConsistencyDelay: time.Minute, Now: clock.Now})
	ctx := context.Background()
	_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("young"), AssumeRolePolicyDocument: aws.String(trustEC2)})
	must(t, "CreateRole", err)
	roles := func() int {
		out, err := c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeRole}})
		must(t, "GetAccountAuthorizationDetails", err)
		return len(out.RoleDetailList)
	}
	if n := roles(); n != 0 {
		t.Errorf("%d roles before the delay, want 0", n)
	}
	clock.Advance(time.Minute)
	if n := roles(); n != 1 {
		t.Errorf("%d roles after the delay, want 1", n)
	}
}

// TestRoleQuota: the account's role quota is AWS's 1,000 unless raised.
func TestRoleQuota(t *testing.T) {
	t.Parallel()
	_, c := setup(t, iamlocal.Options{RoleQuota: 2})
	ctx := context.Background()
	for i := range 3 {
		_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("r%d", i)), AssumeRolePolicyDocument: aws.String(trustEC2)})
		want := ""
		if i == 2 {
			want = "LimitExceeded"
		}
		if code := errorCode(t, err); code != want {
			t.Errorf("role %d: error code %q, want %q", i+1, code, want)
		}
	}
	if _, err := iamlocal.New(iamlocal.Options{InstanceProfileQuota: -1}); err == nil {
		t.Error("a negative quota was accepted")
	}
}
