package provision

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/provision/iamlocal/iamlocaltest"
)

// equivalenceSpecs are ≥ 20 varied specs: access levels, prefixes, many
// scopes, unicode, `${`, boundaries, managed policies, prefixes, tags.
func equivalenceSpecs() []struct {
	spec RoleSpec
	set  Settings
} {
	type sp = struct {
		spec RoleSpec
		set  Settings
	}
	var out []sp
	for name, g := range goldenSpecs() {
		g.spec.Name = "eq-" + name
		if g.set.PermissionsBoundaryARN != "" {
			g.set.PermissionsBoundaryARN = "arn:aws:iam::aws:policy/PowerUserAccess"
		}
		out = append(out, sp{g.spec, g.set})
	}
	accesses := Accesses()
	expiry := testTime.Add(30 * 24 * time.Hour)
	for i := 0; i < 16; i++ {
		set := testSettings()
		set.NamePrefix = []string{"", "rg-", "team.", "x@"}[i%4]
		set.RolePath = []string{"/rolegate/", "/", "/rolegate/team-a/"}[i%3]
		if i%5 == 0 {
			set.PermissionsBoundaryARN = "arn:aws:iam::aws:policy/PowerUserAccess"
		}
		spec := RoleSpec{Name: fmt.Sprintf("eq-gen-%d", i), Description: fmt.Sprintf("generated spec %d, with \"quotes\" and ${x}", i),
			MaxSessionDuration: int32(3600 * (1 + i%12))}
		for j := 0; j <= i%6; j++ {
			prefix := []string{"", "a/", "b/c/", "é/", "$x/", "d e/"}[(i+j)%6]
			spec.Buckets = append(spec.Buckets, BucketScope{Bucket: fmt.Sprintf("team-%d-%d", i, j), Prefix: prefix, Access: accesses[(i+j)%3]})
		}
		if i%3 == 1 {
			spec.ManagedPolicies = []string{"AmazonSSMManagedInstanceCore"}
		}
		if i%4 == 2 {
			spec.ManagedPolicies = append(spec.ManagedPolicies, "arn:aws:iam::aws:policy/CloudWatchAgentServerPolicy")
			spec.ExpiresAt = &expiry
		}
		out = append(out, sp{spec, set})
	}
	return out
}

// TestEquivalence applies each plan to iamlocal and checks that what IAM
// holds and what the Terraform describes are the same resources.
func TestEquivalence(t *testing.T) {
	t.Parallel()
	specs := equivalenceSpecs()
	if len(specs) < 20 {
		t.Fatalf("only %d specs", len(specs))
	}
	srv, url := iamlocaltest.Start(t, iamlocal.Options{})
	e := newEnv(t, "iamlocal", url, srv)
	for i, s := range specs {
		t.Run(fmt.Sprintf("%02d-%s", i, s.spec.Name), func(t *testing.T) {
			t.Parallel()
			p := mustPlan(t, s.spec, s.set, testMeta(fmt.Sprintf("REQ-eq-%d", i)))
			if _, err := e.reconciler().Apply(ctxT(t), p); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			live := readBack(t, e.admin, p)
			tf, err := Terraform(p)
			if err != nil {
				t.Fatal(err)
			}
			fromTF := terraformState(t, tf, p)
			compareStates(t, "IAM", live, "Terraform", fromTF)
		})
	}
}

// terraformState parses the rendered Terraform back with hclparse and
// evaluates it (jsonencode from cty's stdlib, references to the role
// resolved) into the state it describes. It also checks the import blocks.
func terraformState(t *testing.T, src []byte, p Plan) iamState {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCL(src, "main.tf")
	if diags.HasErrors() {
		t.Fatalf("parse Terraform: %s\n%s", diags, src)
	}
	body := f.Body.(*hclsyntax.Body)
	ctx := &hcl.EvalContext{Functions: map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc}, Variables: map[string]cty.Value{}}
	eval := func(b *hclsyntax.Block, attr string) cty.Value {
		a, ok := b.Body.Attributes[attr]
		if !ok {
			return cty.NullVal(cty.DynamicPseudoType)
		}
		v, diags := a.Expr.Value(ctx)
		if diags.HasErrors() {
			t.Fatalf("evaluate %s.%s: %s", strings.Join(b.Labels, "."), attr, diags)
		}
		return v
	}
	str := func(v cty.Value) string {
		if v.IsNull() {
			return ""
		}
		return v.AsString()
	}
	tagMap := func(v cty.Value) map[string]string {
		m := map[string]string{}
		if v.IsNull() {
			return m
		}
		for k, x := range v.AsValueMap() {
			m[k] = x.AsString()
		}
		return m
	}
	s := iamState{InlinePolicies: map[string]string{}}
	resources := map[string]bool{}
	// Resources later ones refer to, bound as they come; and what the two
	// *_exclusive resources say the role holds (nil: no such resource).
	bound := map[string]map[string]cty.Value{}
	bind := func(typ, label string, attrs map[string]cty.Value) {
		if bound[typ] == nil {
			bound[typ] = map[string]cty.Value{}
		}
		bound[typ][label] = cty.ObjectVal(attrs)
		ctx.Variables[typ] = cty.ObjectVal(bound[typ])
	}
	strs := func(v cty.Value) []string {
		out := []string{}
		for it := v.ElementIterator(); it.Next(); {
			_, x := it.Element()
			out = append(out, x.AsString())
		}
		sort.Strings(out)
		return out
	}
	var onlyInline, onlyAttached []string
	var imports [][2]string
	// The role comes first in the file; bind it so later references resolve.
	for _, b := range body.Blocks {
		if b.Type == "import" {
			to := b.Body.Attributes["to"].Expr.(*hclsyntax.ScopeTraversalExpr).Traversal
			id := eval(b, "id").AsString()
			imports = append(imports, [2]string{to.RootName() + "." + to[1].(hcl.TraverseAttr).Name, id})
			continue
		}
		if b.Type != "resource" || len(b.Labels) != 2 {
			t.Fatalf("unexpected block %s %v", b.Type, b.Labels)
		}
		key := b.Labels[0] + "." + b.Labels[1]
		if resources[key] {
			t.Errorf("duplicate resource %s", key)
		}
		resources[key] = true
		switch b.Labels[0] {
		case "aws_iam_role":
			for _, banned := range []string{"inline_policy", "managed_policy_arns"} {
				if _, ok := b.Body.Attributes[banned]; ok {
					t.Errorf("aws_iam_role uses deprecated %s", banned)
				}
			}
			s.RoleName, s.RolePath, s.Description = str(eval(b, "name")), str(eval(b, "path")), str(eval(b, "description"))
			s.Trust, s.Boundary, s.RoleTags = str(eval(b, "assume_role_policy")), str(eval(b, "permissions_boundary")), tagMap(eval(b, "tags"))
			n, _ := eval(b, "max_session_duration").AsBigFloat().Int64()
			s.MaxSession = int32(n)
			ctx.Variables["aws_iam_role"] = cty.ObjectVal(map[string]cty.Value{b.Labels[1]: cty.ObjectVal(map[string]cty.Value{
				"name": cty.StringVal(s.RoleName), "id": cty.StringVal(s.RoleName)})})
		case "aws_iam_role_policy":
			if str(eval(b, "role")) != s.RoleName {
				t.Errorf("role policy refers to another role")
			}
			s.InlinePolicies[str(eval(b, "name"))] = str(eval(b, "policy"))
			bind(b.Labels[0], b.Labels[1], map[string]cty.Value{"name": eval(b, "name")})
		case "aws_iam_role_policy_attachment":
			if str(eval(b, "role")) != s.RoleName {
				t.Errorf("attachment refers to another role")
			}
			s.Attachments = append(s.Attachments, str(eval(b, "policy_arn")))
			bind(b.Labels[0], b.Labels[1], map[string]cty.Value{"policy_arn": eval(b, "policy_arn")})
		case "aws_iam_role_policies_exclusive", "aws_iam_role_policy_attachments_exclusive":
			if str(eval(b, "role_name")) != s.RoleName {
				t.Errorf("%s refers to another role", b.Labels[0])
			}
			if b.Labels[0] == "aws_iam_role_policies_exclusive" {
				onlyInline = strs(eval(b, "policy_names"))
			} else {
				onlyAttached = strs(eval(b, "policy_arns"))
			}
		case "aws_iam_instance_profile":
			s.ProfileName, s.ProfilePath, s.ProfileTags = str(eval(b, "name")), str(eval(b, "path")), tagMap(eval(b, "tags"))
			s.ProfileRoles = []string{str(eval(b, "role"))}
		default:
			t.Errorf("unexpected resource type %s", b.Labels[0])
		}
	}
	sort.Strings(s.Attachments)
	// The role holds the policies the Terraform declares and no others, as
	// rolegate's drift repair keeps it.
	inline := slices.Sorted(maps.Keys(s.InlinePolicies))
	if onlyInline == nil || !slices.Equal(onlyInline, inline) {
		t.Errorf("aws_iam_role_policies_exclusive keeps %q, want the inline policies %q", onlyInline, inline)
	}
	if onlyAttached == nil || !slices.Equal(onlyAttached, append([]string{}, s.Attachments...)) {
		t.Errorf("aws_iam_role_policy_attachments_exclusive keeps %q, want the attachments %q", onlyAttached, s.Attachments)
	}
	want := map[string]string{
		"aws_iam_role":                              p.Role.Name,
		"aws_iam_role_policy":                       p.Role.Name + ":" + p.Policy.Name,
		"aws_iam_role_policies_exclusive":           p.Role.Name,
		"aws_iam_role_policy_attachments_exclusive": p.Role.Name,
		"aws_iam_instance_profile":                  p.InstanceProfile.Name,
	}
	seen := map[string]bool{}
	for _, im := range imports {
		if !resources[im[0]] {
			t.Errorf("import block targets missing resource %s", im[0])
		}
		typ := im[0][:strings.Index(im[0], ".")]
		if typ == "aws_iam_role_policy_attachment" {
			if !strings.HasPrefix(im[1], p.Role.Name+"/arn:") {
				t.Errorf("attachment import id %q, want ROLE/ARN", im[1])
			}
		} else if want[typ] != im[1] {
			t.Errorf("import id for %s = %q, want %q", im[0], im[1], want[typ])
		}
		seen[im[0]] = true
	}
	if len(seen) != len(resources) {
		t.Errorf("%d import blocks for %d resources", len(seen), len(resources))
	}
	return s
}

func BenchmarkNewPlan50Scopes(b *testing.B) {
	spec, set := bench50()
	meta := testMeta("REQ-bench")
	for b.Loop() {
		if _, err := NewPlan(spec, set, meta); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTerraform50Scopes(b *testing.B) {
	spec, set := bench50()
	p := mustPlan(b, spec, set, testMeta("REQ-bench"))
	for b.Loop() {
		if _, err := Terraform(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPlanAndTerraform50Scopes(b *testing.B) {
	spec, set := bench50()
	meta := testMeta("REQ-bench")
	for b.Loop() {
		p, err := NewPlan(spec, set, meta)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Terraform(p); err != nil {
			b.Fatal(err)
		}
	}
}

// bench50 is a 50-scope spec that still fits IAM's policy size limit.
func bench50() (RoleSpec, Settings) {
	set := testSettings()
	spec := RoleSpec{Name: "bench", ManagedPolicies: []string{"AmazonSSMManagedInstanceCore"}}
	for i := 0; i < 50; i++ {
		spec.Buckets = append(spec.Buckets, BucketScope{Bucket: fmt.Sprintf("team-b%02d", i/5), Prefix: fmt.Sprintf("p%d/", i%5), Access: Accesses()[i%3]})
	}
	return spec, set
}
