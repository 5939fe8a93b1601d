package iamlocal_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

// outcomes counts the error codes ("" for success) of concurrent calls.
type outcomes struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *outcomes) add(t *testing.T, err error) {
	code := errorCode(t, err)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.n == nil {
		o.n = map[string]int{}
	}
	o.n[code]++
}

// TestConcurrentCallsStayConsistent runs 32 goroutines through three
// phases on distinct and colliding entities; every collision has exactly
// one winner and the final state is what the winners left.
func TestConcurrentCallsStayConsistent(t *testing.T) {
	t.Parallel()
	const workers = 32
	_, c := setup(t, iamlocal.Options{})
	ctx := context.Background()
	phase := func(do func(i int)) {
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() { do(i) })
		}
		wg.Wait()
	}
	distinct := func(i int) *string { return aws.String(fmt.Sprintf("distinct-%02d", i)) }
	var sharedRole, sharedProfile, joinShared, deleteShared outcomes

	phase(func(i int) {
		// The same name in varying case: IAM names ignore case.
		name := "shared"
		if i%2 == 1 {
			name = strings.ToUpper(name)
		}
		_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trustEC2)})
		sharedRole.add(t, err)
		_, err = c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("shared-ip")})
		sharedProfile.add(t, err)
		_, err = c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: distinct(i), AssumeRolePolicyDocument: aws.String(trustEC2)})
		must(t, "CreateRole distinct", err)
		_, err = c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: distinct(i)})
		must(t, "CreateInstanceProfile distinct", err)
	})
	phase(func(i int) {
		_, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("shared"),
			Tags: []types.Tag{{Key: aws.String(fmt.Sprintf("k%02d", i)), Value: aws.String("v")}}})
		must(t, "TagRole shared", err)
		_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("shared-ip"), RoleName: distinct(i)})
		joinShared.add(t, err)
		_, err = c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: distinct(i), RoleName: distinct(i)})
		must(t, "AddRoleToInstanceProfile distinct", err)
		_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: distinct(i), PolicyName: aws.String("p"), PolicyDocument: aws.String(readBucket)})
		must(t, "PutRolePolicy distinct", err)
	})
	tags, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("shared")})
	must(t, "ListRoleTags", err)
	if len(tags.Tags) != workers {
		t.Errorf("shared role has %d tags, want %d", len(tags.Tags), workers)
	}
	winner := -1
	phase(func(i int) {
		_, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("Shared")})
		deleteShared.add(t, err)
		_, err = c.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: distinct(i), RoleName: distinct(i)})
		must(t, "RemoveRoleFromInstanceProfile distinct", err)
		_, err = c.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: distinct(i)})
		must(t, "DeleteInstanceProfile distinct", err)
		_, err = c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: distinct(i), PolicyName: aws.String("p")})
		must(t, "DeleteRolePolicy distinct", err)
		_, err = c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: distinct(i)})
		switch code := errorCode(t, err); code {
		case "":
		case "DeleteConflict": // still in shared-ip: the one that won the profile
			winner = i // only one goroutine gets here, checked below
		default:
			t.Errorf("DeleteRole distinct-%02d: %v", i, err)
		}
	})

	for _, check := range []struct {
		name string
		got  *outcomes
		want map[string]int
	}{
		{"CreateRole shared", &sharedRole, map[string]int{"": 1, "EntityAlreadyExists": workers - 1}},
		{"CreateInstanceProfile shared-ip", &sharedProfile, map[string]int{"": 1, "EntityAlreadyExists": workers - 1}},
		{"AddRoleToInstanceProfile shared-ip", &joinShared, map[string]int{"": 1, "LimitExceeded": workers - 1}},
		{"DeleteRole shared", &deleteShared, map[string]int{"": 1, "NoSuchEntity": workers - 1}},
	} {
		if fmt.Sprint(check.got.n) != fmt.Sprint(check.want) {
			t.Errorf("%s outcomes = %v, want %v", check.name, check.got.n, check.want)
		}
	}

	roles, err := c.ListRoles(ctx, &iam.ListRolesInput{})
	must(t, "ListRoles", err)
	profiles, err := c.ListInstanceProfiles(ctx, &iam.ListInstanceProfilesInput{})
	must(t, "ListInstanceProfiles", err)
	if winner < 0 || len(roles.Roles) != 1 || aws.ToString(roles.Roles[0].RoleName) != aws.ToString(distinct(winner)) {
		t.Fatalf("roles left = %d, want only the role in shared-ip (winner %d)", len(roles.Roles), winner)
	}
	if len(profiles.InstanceProfiles) != 1 || len(profiles.InstanceProfiles[0].Roles) != 1 ||
		aws.ToString(profiles.InstanceProfiles[0].Roles[0].RoleName) != aws.ToString(distinct(winner)) {
		t.Errorf("profiles left = %+v, want shared-ip holding the winner", profiles.InstanceProfiles)
	}
}
