package iamlocal_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

// listFunc pages through one List* action with MaxItems 3 and returns the
// names seen and the number of pages.
type listFunc func(ctx context.Context, c *iam.Client) (names []string, pages int, err error)

// pageNames pages through p and returns the names each page holds (by
// names) and the number of pages.
func pageNames[P any](ctx context.Context, p interface {
	HasMorePages() bool
	NextPage(context.Context, ...func(*iam.Options)) (P, error)
}, names func(P) []string) ([]string, int, error) {
	var all []string
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, 0, err
		}
		pages++
		all = append(all, names(out)...)
	}
	return all, pages, nil
}

func roleNames(out *iam.ListRolesOutput) (names []string) {
	for _, r := range out.Roles {
		names = append(names, aws.ToString(r.RoleName))
	}
	return names
}

func TestPagination(t *testing.T) {
	t.Parallel()
	_, c := setup(t, iamlocal.Options{})
	ctx := context.Background()
	var wantA, wantAll, wantTags, wantPolicies []string
	for i := range 7 {
		name := fmt.Sprintf("role-%02d", i)
		path := "/a/"
		if i%3 == 2 {
			path = "/b/"
		} else {
			wantA = append(wantA, name)
		}
		wantAll = append(wantAll, name)
		_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), Path: aws.String(path), AssumeRolePolicyDocument: aws.String(trustEC2)})
		must(t, "CreateRole", err)
		_, err = c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String("p-" + name), Path: aws.String(path)})
		must(t, "CreateInstanceProfile", err)
		key := fmt.Sprintf("k%02d", i)
		wantTags = append(wantTags, key)
		_, err = c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("role-00"), Tags: []types.Tag{{Key: aws.String(key), Value: aws.String("v")}}})
		must(t, "TagRole", err)
		policy := fmt.Sprintf("policy-%02d", i)
		wantPolicies = append(wantPolicies, policy)
		_, err = c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("role-00"), PolicyName: aws.String(policy), PolicyDocument: aws.String(readBucket)})
		must(t, "PutRolePolicy", err)
	}
	prefixed := func(ps []string, prefix string) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = prefix + p
		}
		return out
	}
	tests := []struct {
		name      string
		list      listFunc
		want      []string
		wantPages int
	}{
		{"ListRoles", func(ctx context.Context, c *iam.Client) ([]string, int, error) {
			return pageNames(ctx, iam.NewListRolesPaginator(c, &iam.ListRolesInput{MaxItems: aws.Int32(3)}), roleNames)
		}, wantAll, 3},
		{"ListRoles with PathPrefix", func(ctx context.Context, c *iam.Client) ([]string, int, error) {
			return pageNames(ctx, iam.NewListRolesPaginator(c, &iam.ListRolesInput{MaxItems: aws.Int32(3), PathPrefix: aws.String("/a/")}), roleNames)
		}, wantA, 2},
		{"ListInstanceProfiles with PathPrefix", func(ctx context.Context, c *iam.Client) ([]string, int, error) {
			p := iam.NewListInstanceProfilesPaginator(c, &iam.ListInstanceProfilesInput{MaxItems: aws.Int32(3), PathPrefix: aws.String("/a/")})
			return pageNames(ctx, p, func(out *iam.ListInstanceProfilesOutput) (names []string) {
				for _, ip := range out.InstanceProfiles {
					names = append(names, aws.ToString(ip.InstanceProfileName))
				}
				return names
			})
		}, prefixed(wantA, "p-"), 2},
		{"ListRoleTags", func(ctx context.Context, c *iam.Client) ([]string, int, error) {
			p := iam.NewListRoleTagsPaginator(c, &iam.ListRoleTagsInput{RoleName: aws.String("role-00"), MaxItems: aws.Int32(3)})
			return pageNames(ctx, p, func(out *iam.ListRoleTagsOutput) (keys []string) {
				for _, tg := range out.Tags {
					keys = append(keys, aws.ToString(tg.Key))
				}
				return keys
			})
		}, wantTags, 3},
		{"ListRolePolicies", func(ctx context.Context, c *iam.Client) ([]string, int, error) {
			p := iam.NewListRolePoliciesPaginator(c, &iam.ListRolePoliciesInput{RoleName: aws.String("role-00"), MaxItems: aws.Int32(3)})
			return pageNames(ctx, p, func(out *iam.ListRolePoliciesOutput) []string { return out.PolicyNames })
		}, wantPolicies, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			names, pages, err := tt.list(ctx, c)
			must(t, tt.name, err)
			if !slices.Equal(names, tt.want) || pages != tt.wantPages {
				t.Errorf("got %v in %d pages, want %v in %d", names, pages, tt.want, tt.wantPages)
			}
		})
	}
}

func TestPaginationMarkers(t *testing.T) {
	t.Parallel()
	_, c := setup(t, iamlocal.Options{})
	ctx := context.Background()
	for _, n := range []string{"a", "b"} {
		_, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(n), AssumeRolePolicyDocument: aws.String(trustEC2)})
		must(t, "CreateRole", err)
	}
	first, err := c.ListRoles(ctx, &iam.ListRolesInput{MaxItems: aws.Int32(1)})
	must(t, "ListRoles", err)
	if !first.IsTruncated || aws.ToString(first.Marker) == "" {
		t.Fatalf("first page IsTruncated=%v Marker=%q, want truncated with a marker", first.IsTruncated, aws.ToString(first.Marker))
	}
	last, err := c.ListRoles(ctx, &iam.ListRolesInput{MaxItems: aws.Int32(1), Marker: first.Marker})
	must(t, "ListRoles page 2", err)
	if last.IsTruncated || last.Marker != nil || len(last.Roles) != 1 || aws.ToString(last.Roles[0].RoleName) != "b" {
		t.Errorf("last page = %+v", last)
	}
	_, err = c.ListRoles(ctx, &iam.ListRolesInput{Marker: aws.String("%%%")})
	if code := errorCode(t, err); code != "InvalidInput" {
		t.Errorf("bad marker: code %q, want InvalidInput", code)
	}
}
