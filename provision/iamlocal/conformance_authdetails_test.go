package iamlocal_test

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// authDetailsScenario holds GetAccountAuthorizationDetails to AWS: role
// details with their inline and attached policies, boundary, tags and
// instance profiles; customer-managed policies with their versions; the
// Filter; MaxItems and Marker. Scenarios share the endpoint, so each step
// looks only at the entities with its prefix.
func authDetailsScenario() scenario {
	return scenario{name: "gaad", steps: []step{
		{name: "create a managed policy", do: cfCreatePolicy("mp"),
			want: "arn:aws:iam::123456789012:policy/Pmp id=ANPA+17", moto: "arn:aws:iam::123456789012:policy/Pmp id=other",
			diff: "managed policy IDs do not start with ANPA"},
		{name: "create a full role", do: cfCreateRole("app", trustEC2, func(in *iam.CreateRoleInput) {
			in.Path = aws.String("/conf/")
			in.Description = aws.String("reads a bucket")
			in.PermissionsBoundary = aws.String("arn:aws:iam::123456789012:policy/cf-gaad-mp")
			in.Tags = []types.Tag{{Key: aws.String("owner"), Value: aws.String("alice")}}
		}), want: "ok"},
		{name: "its inline policies", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			for _, n := range []string{"read", "audit"} {
				if _, err := cfPutPolicy("app", n, readBucket)(ctx, c, p); err != nil {
					return "", err
				}
			}
			return "ok", nil
		}, want: "ok"},
		{name: "its managed policy", do: cfAttach("app", "ACCOUNT:mp"), want: "ok"},
		{name: "its instance profile", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			if _, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(p + "app"),
				Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("data")}}}); err != nil {
				return "", err
			}
			return ok(c.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String(p + "app"), RoleName: aws.String(p + "app")}))
		}, want: "ok"},
		{name: "create a bare role", do: cfCreateRole("bare", trustEC2), want: "ok"},
		{name: "roles", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			out, err := c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeRole}})
			if err != nil {
				return "", err
			}
			var roles []string
			for _, r := range out.RoleDetailList {
				if strings.HasPrefix(aws.ToString(r.RoleName), p) {
					roles = append(roles, roleDetailString(r, p))
				}
			}
			return fmt.Sprintf("%s truncated=%v policies=%d", strings.Join(roles, " | "), out.IsTruncated, countPrefixed(out, p)), nil
		}, want: "Papp /conf/ arn:aws:iam::123456789012:role/conf/Papp id=AROA+17 trust=true boundary=arn:aws:iam::123456789012:policy/Pmp " +
			"tags=[owner=alice] inline=[audit:true read:true] attached=[Pmp] profiles=[Papp:[Papp]:[team=data]] last-used=true | " +
			"Pbare / arn:aws:iam::123456789012:role/Pbare id=AROA+17 trust=true boundary= tags=[] inline=[] attached=[] profiles=[] last-used=true " +
			"truncated=false policies=0"},
		{name: "customer-managed policies", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			out, err := c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeLocalManagedPolicy}})
			if err != nil {
				return "", err
			}
			var pols []string
			for _, pol := range out.Policies {
				if !strings.HasSuffix(aws.ToString(pol.Arn), "/"+p+"mp") {
					continue
				}
				var versions []string
				for _, v := range pol.PolicyVersionList {
					versions = append(versions, fmt.Sprintf("%s:default=%v:doc=%v", aws.ToString(v.VersionId), v.IsDefaultVersion, decoded(v.Document) == readBucket))
				}
				pols = append(pols, strings.ReplaceAll(fmt.Sprintf("%s %s id=%s default=%s attached=%d boundary-uses=%d attachable=%v versions=%v",
					aws.ToString(pol.PolicyName), aws.ToString(pol.Arn), shapeOfID(pol.PolicyId), aws.ToString(pol.DefaultVersionId),
					aws.ToInt32(pol.AttachmentCount), aws.ToInt32(pol.PermissionsBoundaryUsageCount), pol.IsAttachable, versions), p, "P"))
			}
			return fmt.Sprintf("%s roles=%d", strings.Join(pols, " | "), len(out.RoleDetailList)), nil
		}, want: "Pmp arn:aws:iam::123456789012:policy/Pmp id=ANPA+17 default=v1 attached=1 boundary-uses=1 attachable=true versions=[v1:default=true:doc=true] roles=0",
			moto: " arn:aws:iam::123456789012:policy/Pmp id=other default=v1 attached=1 boundary-uses=0 attachable=true versions=[v1:default=true:doc=true] roles=0",
			diff: "ManagedPolicyDetail lacks PolicyName, PolicyId and PermissionsBoundaryUsageCount"},
		{name: "users and groups only", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			out, err := c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{types.EntityTypeUser, types.EntityTypeGroup}})
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("users=%d groups=%d roles=%d policies=%d", len(out.UserDetailList), len(out.GroupDetailList), len(out.RoleDetailList), len(out.Policies)), nil
		}, want: "users=0 groups=0 roles=0 policies=0"},
		{name: "one role a page", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			var seen []string
			pages, most := 0, 0
			pg := iam.NewGetAccountAuthorizationDetailsPaginator(c, &iam.GetAccountAuthorizationDetailsInput{
				Filter: []types.EntityType{types.EntityTypeRole}, MaxItems: aws.Int32(1)})
			for pg.HasMorePages() {
				out, err := pg.NextPage(ctx)
				if err != nil {
					return "", err
				}
				pages++
				most = max(most, len(out.RoleDetailList))
				for _, r := range out.RoleDetailList {
					if n := aws.ToString(r.RoleName); strings.HasPrefix(n, p) {
						seen = append(seen, strings.ReplaceAll(n, p, "P"))
					}
				}
			}
			sort.Strings(seen)
			return fmt.Sprintf("%v one a page=%v, several pages=%v", seen, most <= 1, pages > 1), nil
		}, want: "[Papp Pbare] one a page=true, several pages=true",
			moto: "[Papp Pbare] one a page=false, several pages=false", diff: "MaxItems is ignored: one page holds every role"},
		{name: "MaxItems of 1,001", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{MaxItems: aws.Int32(1001)}))
		}, want: "error ValidationError", moto: "ok", diff: "MaxItems is not checked"},
		{name: "an unknown filter", do: func(ctx context.Context, c *iam.Client, p string) (string, error) {
			return ok(c.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []types.EntityType{"Robot"}}))
		}, want: "error ValidationError", moto: "ok", diff: "the Filter values are not checked"},
	}}
}

// countPrefixed counts the managed policies of the scenario in a result.
func countPrefixed(out *iam.GetAccountAuthorizationDetailsOutput, p string) int {
	n := 0
	for _, pol := range out.Policies {
		if strings.Contains(aws.ToString(pol.Arn), "/"+p) {
			n++
		}
	}
	return n
}

// roleDetailString describes a role detail without its volatile parts.
func roleDetailString(r types.RoleDetail, p string) string {
	boundary := ""
	if r.PermissionsBoundary != nil {
		boundary = aws.ToString(r.PermissionsBoundary.PermissionsBoundaryArn)
	}
	var inline, attached, profiles []string
	for _, pd := range r.RolePolicyList {
		inline = append(inline, fmt.Sprintf("%s:%v", aws.ToString(pd.PolicyName), decoded(pd.PolicyDocument) == readBucket))
	}
	sort.Strings(inline)
	for _, a := range r.AttachedManagedPolicies {
		attached = append(attached, aws.ToString(a.PolicyName))
	}
	for _, ip := range r.InstanceProfileList {
		var roles []string
		for _, pr := range ip.Roles {
			roles = append(roles, aws.ToString(pr.RoleName))
		}
		profiles = append(profiles, fmt.Sprintf("%s:%v:%s", aws.ToString(ip.InstanceProfileName), roles, tagString(ip.Tags)))
	}
	s := fmt.Sprintf("%s %s %s id=%s trust=%v boundary=%s tags=%s inline=%v attached=%v profiles=%v last-used=%v",
		aws.ToString(r.RoleName), aws.ToString(r.Path), aws.ToString(r.Arn), shapeOfID(r.RoleId),
		decoded(r.AssumeRolePolicyDocument) == trustEC2, boundary, tagString(r.Tags), inline, attached, profiles, r.RoleLastUsed != nil)
	return strings.ReplaceAll(s, p, "P")
}
