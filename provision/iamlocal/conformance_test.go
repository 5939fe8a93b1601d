package iamlocal_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

// A conformance step makes one or a few SDK calls and describes what it
// saw as a string, so two endpoints can be compared. want is AWS's answer,
// which iamlocal must give. When moto is known to differ from AWS, moto
// holds moto's answer and diff names the difference.
type step struct {
	name string
	do   func(ctx context.Context, c *iam.Client, p string) (string, error)
	want string
	moto string
	diff string
}

// scenario is a sequence of steps on entities named with its prefix, so
// scenarios can share one endpoint.
type scenario struct {
	name  string
	steps []step
}

// TestConformance runs the same scenarios through the Go SDK against
// iamlocal and against moto_server, comparing both with AWS's answers.
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, target := range conformanceTargets(iamlocal.Options{}) {
		t.Run(target.name, func(t *testing.T) {
			t.Parallel()
			c := iamlocaltest.Client(t, target.start(t))
			for _, sc := range scenarios() {
				t.Run(sc.name, func(t *testing.T) {
					t.Parallel()
					runScenario(t, c, target.name == "moto", sc)
				})
			}
		})
	}
}

// conformanceTarget is an endpoint the suite runs against.
type conformanceTarget struct {
	name  string
	start func(t *testing.T) string // serves it for the test; returns its base URL
}

// conformanceTargets are iamlocal, started with opts, and moto.
func conformanceTargets(opts iamlocal.Options) []conformanceTarget {
	return []conformanceTarget{
		{"iamlocal", func(t *testing.T) string {
			_, base := iamlocaltest.Start(t, opts)
			return base
		}},
		{"moto", func(t *testing.T) string { return iamlocaltest.StartMoto(t) }},
	}
}

func runScenario(t *testing.T, c *iam.Client, moto bool, sc scenario) {
	ctx := context.Background()
	prefix := "cf-" + sc.name + "-"
	for i, st := range sc.steps {
		got, err := st.do(ctx, c, prefix)
		if err != nil {
			got = "error " + conformanceCode(err)
			t.Logf("step %d %q: %v", i+1, st.name, err)
		}
		want := st.want
		if moto && st.diff != "" {
			want = st.moto
			t.Logf("step %d %q: known moto difference (%s): moto gives %q where AWS and iamlocal give %q", i+1, st.name, st.diff, st.moto, st.want)
		}
		if got != want {
			t.Errorf("step %d %q:\n got  %s\n want %s", i+1, st.name, got, want)
		}
	}
}

// conformanceCode is the IAM error code of err, or a description of an
// answer that was no IAM error at all (moto sometimes answers 500 HTML).
func conformanceCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return fmt.Sprintf("(no IAM error, HTTP %d)", httpStatus(err))
}

// ok turns a call without interesting output into "ok" or its error.
func ok[T any](_ T, err error) (string, error) {
	if err != nil {
		return "", err
	}
	return "ok", nil
}

var idShape = regexp.MustCompile(`^(AROA|AIPA|ANPA)[A-Z0-9]{17}$`)

// shapeOfID is "AROA+17" and the like for IDs shaped as IAM's, else "other".
func shapeOfID(id *string) string {
	if m := idShape.FindStringSubmatch(aws.ToString(id)); m != nil {
		return m[1] + "+17"
	}
	return "other"
}

func tagString(tags []types.Tag) string {
	parts := make([]string, 0, len(tags))
	for _, tg := range tags {
		parts = append(parts, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
	}
	sort.Strings(parts)
	return "[" + strings.Join(parts, ",") + "]"
}

func decoded(doc *string) string {
	s, err := url.QueryUnescape(aws.ToString(doc))
	if err != nil {
		return "undecodable"
	}
	return s
}

// roleString describes a role without its volatile parts (ID, dates); the
// account ID is shown as ACCOUNT and the prefix as P.
func roleString(r *types.Role, p string) string {
	boundary := ""
	if r.PermissionsBoundary != nil {
		boundary = aws.ToString(r.PermissionsBoundary.PermissionsBoundaryArn)
	}
	s := fmt.Sprintf("%s %s %s desc=%q max=%d boundary=%s tags=%s", aws.ToString(r.RoleName), aws.ToString(r.Path),
		aws.ToString(r.Arn), aws.ToString(r.Description), aws.ToInt32(r.MaxSessionDuration), boundary, tagString(r.Tags))
	return strings.ReplaceAll(s, p, "P")
}

func profileString(ip *types.InstanceProfile, p string) string {
	roles := make([]string, 0, len(ip.Roles))
	for _, r := range ip.Roles {
		roles = append(roles, aws.ToString(r.RoleName))
	}
	s := fmt.Sprintf("%s %s %s roles=%v tags=%s", aws.ToString(ip.InstanceProfileName), aws.ToString(ip.Path),
		aws.ToString(ip.Arn), roles, tagString(ip.Tags))
	return strings.ReplaceAll(s, p, "P")
}

// Shorthands for the calls scenarios repeat.

func cfCreateRole(name, trust string, mod ...func(*iam.CreateRoleInput)) func(context.Context, *iam.Client, string) (string, error) {
	return func(ctx context.Context, c *iam.Client, p string) (string, error) {
		in := &iam.CreateRoleInput{RoleName: aws.String(p + name), AssumeRolePolicyDocument: aws.String(trust)}
		for _, m := range mod {
			m(in)
		}
		return ok(c.CreateRole(ctx, in))
	}
}

func cfGetRole(name string) func(context.Context, *iam.Client, string) (string, error) {
	return func(ctx context.Context, c *iam.Client, p string) (string, error) {
		out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(p + name)})
		if err != nil {
			return "", err
		}
		return roleString(out.Role, p), nil
	}
}

func cfDeleteRole(name string) func(context.Context, *iam.Client, string) (string, error) {
	return func(ctx context.Context, c *iam.Client, p string) (string, error) {
		return ok(c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(p + name)}))
	}
}

func cfPutPolicy(role, name, doc string) func(context.Context, *iam.Client, string) (string, error) {
	return func(ctx context.Context, c *iam.Client, p string) (string, error) {
		return ok(c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(p + role), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)}))
	}
}

// cfAttach attaches arn; "ACCOUNT:" in it stands for the account's own
// policies with the scenario prefix, e.g. "ACCOUNT:mp".
func cfAttach(role, arn string) func(context.Context, *iam.Client, string) (string, error) {
	return func(ctx context.Context, c *iam.Client, p string) (string, error) {
		return ok(c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(p + role), PolicyArn: aws.String(policyArn(arn, p))}))
	}
}

func policyArn(arn, p string) string {
	if name, found := strings.CutPrefix(arn, "ACCOUNT:"); found {
		return "arn:aws:iam::123456789012:policy/" + p + name
	}
	return arn
}

func cfCreatePolicy(name string) func(context.Context, *iam.Client, string) (string, error) {
	return func(ctx context.Context, c *iam.Client, p string) (string, error) {
		out, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(p + name), PolicyDocument: aws.String(readBucket)})
		if err != nil {
			return "", err
		}
		return strings.ReplaceAll(aws.ToString(out.Policy.Arn), p, "P") + " id=" + shapeOfID(out.Policy.PolicyId), nil
	}
}

func cfTagRole(role string, kv ...string) func(context.Context, *iam.Client, string) (string, error) {
	return func(ctx context.Context, c *iam.Client, p string) (string, error) {
		var tags []types.Tag
		for i := 0; i+1 < len(kv); i += 2 {
			tags = append(tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return ok(c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String(p + role), Tags: tags}))
	}
}

func cfCreateProfile(name string) func(context.Context, *iam.Client, string) (string, error) {
	return func(ctx context.Context, c *iam.Client, p string) (string, error) {
		out, err := c.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{InstanceProfileName: aws.String(p + name)})
		if err != nil {
			return "", err
		}
		return "id=" + shapeOfID(out.InstanceProfile.InstanceProfileId), nil
	}
}
