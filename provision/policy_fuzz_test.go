package provision

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The fuzz targets of the core. `make fuzz` runs each for a short fixed
// time; the seed corpora under testdata/fuzz run with every `go test`.

// FuzzValidate decodes arbitrary JSON as a RoleSpec (the form the API and
// `rolegate render --spec` accept). Validation never panics, and a spec it
// accepts always builds a Plan whose policy is valid JSON within IAM's size
// limit granting only S3 actions on the spec's own buckets and prefixes.
func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		`{"name":"reports-reader","buckets":[{"bucket":"example-bucket","access":"read"}]}`,
		`{"name":"etl","description":"nightly ETL","buckets":[{"bucket":"team-a","prefix":"in/","access":"read-write"},{"bucket":"team-b","access":"write"}]}`,
		`{"name":"x","buckets":[{"bucket":"*","access":"read"}]}`,
		`{"name":"x","buckets":[{"bucket":"arn:aws:s3:::*","access":"read"}]}`,
		`{"name":"x","buckets":[{"bucket":"logs","prefix":"../","access":"read"}]}`,
		`{"name":"x","buckets":[{"bucket":"logs","prefix":"a*b?","access":"write"}]}`,
		`{"name":"x","buckets":[{"bucket":"logs","prefix":"${aws:username}/","access":"read"}]}`,
		`{"name":"dollar","buckets":[{"bucket":"logs","prefix":"$x/${$}/","access":"read-write"}]}`,
		`{"name":"uni","buckets":[{"bucket":"logs","prefix":"données/日本/","access":"read"}]}`,
		`{"name":"x","buckets":[{"bucket":"logs\",\"Resource\":\"*","access":"read"}]}`,
		`{"name":"x","max_session_duration":43200,"buckets":[{"bucket":"logs","access":"read"}],"managed_policies":["AmazonSSMManagedInstanceCore"]}`,
		`{"name":"","buckets":[]}`,
	} {
		f.Add([]byte(seed))
	}
	set := testSettings()
	f.Fuzz(func(t *testing.T, data []byte) {
		var spec RoleSpec
		if json.Unmarshal(data, &spec) != nil {
			return
		}
		spec.ExpiresAt = nil // validity must not depend on when the fuzzer runs
		if err := spec.Validate(set); err != nil {
			if _, ok := err.(*ValidationError); !ok {
				t.Fatalf("Validate returned %T, want *ValidationError: %v", err, err)
			}
			return
		}
		p, err := NewPlan(spec, set, testMeta("REQ-fuzz"))
		if err != nil {
			t.Fatalf("Validate accepted the spec but NewPlan refused it: %v", err)
		}
		checkPolicyWithinScopes(t, p.Policy.Document, spec.Buckets, set.partition())
		again, err := NewPlan(spec, set, testMeta("REQ-fuzz"))
		if err != nil || again.Policy.Document != p.Policy.Document {
			t.Fatalf("rendering is not deterministic: %v", err)
		}
		reversed := spec
		reversed.Buckets = slices.Clone(spec.Buckets)
		slices.Reverse(reversed.Buckets)
		if r, err := NewPlan(reversed, set, testMeta("REQ-fuzz")); err != nil || r.Policy.Document != p.Policy.Document {
			t.Fatalf("the order of the scopes changes the policy: %v", err)
		}
	})
}

// FuzzPolicyRendering builds specs of two scopes from arbitrary buckets,
// prefixes and access levels in each partition. A valid spec's policy stays
// within its scopes, and the Terraform rendered from the same Plan parses
// back (hclparse) to the same policy.
func FuzzPolicyRendering(f *testing.F) {
	f.Add("example-bucket", "", uint8(0), "team-b", "in/", uint8(2), uint8(0))
	f.Add("logs", "a/b/", uint8(1), "logs", "a/", uint8(0), uint8(1))
	f.Add("logs", "${$}", uint8(2), "other", "%{x}", uint8(0), uint8(2))
	f.Add("logs", "\"quoted\"/", uint8(0), "logs", "\\back/", uint8(1), uint8(0))
	f.Add("logs", "ünï/", uint8(2), "l.o.g.s", "😀/", uint8(0), uint8(0))
	f.Add("*", "", uint8(0), "arn:aws:s3:::*", "", uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, b1, p1 string, a1 uint8, b2, p2 string, a2, part uint8) {
		set := DefaultSettings()
		set.Partition = []string{"aws", "aws-cn", "aws-us-gov"}[int(part)%3]
		accesses := Accesses()
		spec := RoleSpec{Name: "fuzzed", Buckets: []BucketScope{
			{Bucket: b1, Prefix: p1, Access: accesses[int(a1)%len(accesses)]},
			{Bucket: b2, Prefix: p2, Access: accesses[int(a2)%len(accesses)]},
		}}
		p, err := NewPlan(spec, set, testMeta("REQ-fuzz"))
		if err != nil {
			return
		}
		checkPolicyWithinScopes(t, p.Policy.Document, spec.Buckets, set.Partition)
		tf, err := Terraform(p)
		if err != nil {
			t.Fatalf("Terraform of a valid plan: %v", err)
		}
		st := terraformState(t, tf, p)
		got, ok := st.InlinePolicies[p.Policy.Name]
		if !ok {
			t.Fatalf("the Terraform has no inline policy %s:\n%s", p.Policy.Name, tf)
		}
		if eq, err := policiesEqual(got, p.Policy.Document); err != nil || !eq {
			t.Fatalf("the Terraform's policy differs from the plan's (%v):\n%s\n---\n%s", err, got, p.Policy.Document)
		}
	})
}

// FuzzTerraform renders plans whose free-text parts (description, request
// ID, requester, approvers) are arbitrary: the Terraform always parses back
// to the plan's own values, so no input escapes its string or comment.
func FuzzTerraform(f *testing.F) {
	f.Add("reports-reader", "reads the reports", "REQ-1", "alice@example.com", "bob@example.com")
	f.Add("x", "${var.secret} %{ if true }x%{ endif }", "42", "*/ resource \"x\" \"y\" {} /*", "\n# injected")
	f.Add("x", "line\nbreak\ttab", "a:b/c=d+e-f@g", "\x00\xff", "\u202e")
	f.Add("x", `"quoted" \ backslash`, "id", "mallory\"}", "eve\n}")
	f.Fuzz(func(t *testing.T, name, description, requestID, requester, approver string) {
		set := testSettings()
		spec := RoleSpec{Name: name, Description: description,
			Buckets: []BucketScope{{Bucket: "example-bucket", Prefix: "in/", Access: AccessReadWrite}}}
		meta := PlanMeta{RequestID: requestID, Requester: requester, Approvers: []string{approver}, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		p, err := NewPlan(spec, set, meta)
		if err != nil {
			return
		}
		tf, err := Terraform(p)
		if err != nil {
			t.Fatalf("Terraform of a valid plan: %v", err)
		}
		if !utf8.Valid(tf) {
			t.Fatalf("Terraform is not UTF-8")
		}
		again, err := Terraform(p)
		if err != nil || string(again) != string(tf) {
			t.Fatalf("Terraform is not deterministic: %v", err)
		}
		st := terraformState(t, tf, p)
		if st.RoleName != p.Role.Name || st.Description != p.Role.Description || st.ProfileName != p.InstanceProfile.Name {
			t.Fatalf("parsed back name %q, description %q, profile %q; want %q, %q, %q",
				st.RoleName, st.Description, st.ProfileName, p.Role.Name, p.Role.Description, p.InstanceProfile.Name)
		}
		for _, tag := range p.Role.Tags {
			if st.RoleTags[tag.Key] != tag.Value || st.ProfileTags[tag.Key] != tag.Value {
				t.Fatalf("tag %s = %q (role) / %q (profile) in the Terraform, want %q", tag.Key, st.RoleTags[tag.Key], st.ProfileTags[tag.Key], tag.Value)
			}
		}
		if len(st.RoleTags) != len(p.Role.Tags) {
			t.Fatalf("the Terraform's role has %d tags, the plan %d", len(st.RoleTags), len(p.Role.Tags))
		}
	})
}

// checkPolicyWithinScopes asserts, independently of the renderer, that doc
// is a JSON IAM policy within IAM's inline size limit (characters other
// than white space) that allows only the S3 actions each scope's access
// level implies, on the ARNs of the scopes' own buckets and prefixes.
func checkPolicyWithinScopes(t *testing.T, doc string, scopes []BucketScope, partition string) {
	t.Helper()
	if !json.Valid([]byte(doc)) {
		t.Fatalf("policy is not valid JSON: %s", doc)
	}
	size := 0
	for _, r := range doc {
		if r != ' ' && r != '\t' && r != '\n' && r != '\r' {
			size++
		}
	}
	if size > 10240 {
		t.Fatalf("policy has %d characters without white space, over IAM's 10,240", size)
	}
	var pol struct {
		Version   string
		Statement []map[string]json.RawMessage
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pol); err != nil {
		t.Fatalf("policy shape: %v\n%s", err, doc)
	}
	if pol.Version != "2012-10-17" || len(pol.Statement) == 0 {
		t.Fatalf("policy version %q with %d statements", pol.Version, len(pol.Statement))
	}
	s3 := "arn:" + partition + ":s3:::"
	// What the scopes allow: bucket ARN -> listing allowed whole; object
	// ARN -> actions.
	listWhole := map[string]bool{}
	listPrefixes := map[string]map[string]bool{}
	objects := map[string]map[string]bool{}
	for _, sc := range scopes {
		obj := s3 + sc.Bucket + "/" + strings.ReplaceAll(sc.Prefix, "$", "${$}") + "*"
		if objects[obj] == nil {
			objects[obj] = map[string]bool{}
		}
		if sc.Access == AccessRead || sc.Access == AccessReadWrite {
			if sc.Prefix == "" {
				listWhole[s3+sc.Bucket] = true
			} else {
				if listPrefixes[s3+sc.Bucket] == nil {
					listPrefixes[s3+sc.Bucket] = map[string]bool{}
				}
				listPrefixes[s3+sc.Bucket][strings.ReplaceAll(sc.Prefix, "$", "${$}")+"*"] = true
			}
			objects[obj]["s3:GetObject"] = true
		}
		if sc.Access == AccessWrite || sc.Access == AccessReadWrite {
			objects[obj]["s3:PutObject"] = true
			objects[obj]["s3:AbortMultipartUpload"] = true
		}
		if sc.Access == AccessReadWrite {
			objects[obj]["s3:DeleteObject"] = true
		}
	}
	for i, st := range pol.Statement {
		var effect string
		var actions, resources []string
		var cond map[string]map[string][]string
		for k, v := range st {
			var err error
			switch k {
			case "Sid":
			case "Effect":
				err = json.Unmarshal(v, &effect)
			case "Action":
				err = json.Unmarshal(v, &actions)
			case "Resource":
				err = json.Unmarshal(v, &resources)
			case "Condition":
				err = json.Unmarshal(v, &cond)
			default:
				t.Fatalf("statement %d has %s; only Sid, Effect, Action, Resource and Condition are expected", i, k)
			}
			if err != nil {
				t.Fatalf("statement %d %s: %v", i, k, err)
			}
		}
		if effect != "Allow" || len(actions) == 0 || len(resources) == 0 {
			t.Fatalf("statement %d: effect %q, %d actions, %d resources", i, effect, len(actions), len(resources))
		}
		for _, r := range resources {
			if err := literalARN(r, s3); err != nil {
				t.Fatalf("statement %d resource %q: %v\n%s", i, r, err, doc)
			}
			for _, a := range actions {
				if !strings.HasPrefix(a, "s3:") || strings.Contains(a, "*") {
					t.Fatalf("statement %d grants %q, not one S3 action", i, a)
				}
				if err := allowedBy(a, r, cond, listWhole, listPrefixes, objects); err != nil {
					t.Fatalf("statement %d grants %s on %s: %v\n%s", i, a, r, err, doc)
				}
			}
		}
	}
}

var strictBucket = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// literalARN checks that arn names one concrete bucket, and inside it at
// most one key prefix followed by the single trailing wildcard: no `*` or
// `?` elsewhere and no policy variable other than the ${$} escape.
func literalARN(arn, s3 string) error {
	rest, ok := strings.CutPrefix(arn, s3)
	if !ok {
		return fmt.Errorf("not an S3 ARN of partition %s", s3)
	}
	bucket, key, isObject := strings.Cut(rest, "/")
	if !strictBucket.MatchString(bucket) {
		return fmt.Errorf("bucket %q is not one concrete bucket name", bucket)
	}
	if !isObject {
		return nil
	}
	prefix, ok := strings.CutSuffix(key, "*")
	if !ok {
		return fmt.Errorf("object ARN does not end in the prefix wildcard")
	}
	if strings.ContainsAny(prefix, "*?") {
		return fmt.Errorf("prefix %q holds a wildcard", prefix)
	}
	if strings.Contains(strings.ReplaceAll(prefix, "${$}", ""), "$") {
		return fmt.Errorf("prefix %q holds a policy variable", prefix)
	}
	return nil
}

// allowedBy says why action on resource (under cond) is not what the
// scopes allow, or nil when it is.
func allowedBy(action, resource string, cond map[string]map[string][]string,
	listWhole map[string]bool, listPrefixes map[string]map[string]bool, objects map[string]map[string]bool) error {
	if action == "s3:ListBucket" {
		if cond == nil {
			if !listWhole[resource] {
				return fmt.Errorf("no read scope covers the whole bucket")
			}
			return nil
		}
		if len(cond) != 1 || len(cond["StringLike"]) != 1 {
			return fmt.Errorf("condition %v is not one StringLike on s3:prefix", cond)
		}
		values, ok := cond["StringLike"]["s3:prefix"]
		if !ok || len(values) == 0 {
			return fmt.Errorf("condition %v is not one StringLike on s3:prefix", cond)
		}
		for _, v := range values {
			if !listPrefixes[resource][v] {
				return fmt.Errorf("listing prefix %q matches no read scope of that bucket", v)
			}
		}
		return nil
	}
	if cond != nil {
		return fmt.Errorf("unexpected condition %v", cond)
	}
	acts, ok := objects[resource]
	if !ok {
		return fmt.Errorf("the resource is no scope's bucket and prefix")
	}
	if !acts[action] {
		return fmt.Errorf("the scope's access level does not include it")
	}
	return nil
}
