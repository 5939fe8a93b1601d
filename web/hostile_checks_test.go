package web

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/provision"
)

func utf8Valid(s provision.RoleSpec, just string) bool {
	for _, x := range []string{s.Name, s.Description, just, s.Buckets[0].Bucket, s.Buckets[0].Prefix} {
		if !strings.Contains(x, "\xff") {
			continue
		}
		return false
	}
	return true
}

// checkStored asserts that request id holds what was submitted and that
// its plan grants only the access table's actions on exactly its scopes.
func (env *secEnv) checkStored(t *testing.T, what string, id int64, s provision.RoleSpec, just string) {
	t.Helper()
	got, err := env.db.GetRequest(ctxT(t), id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Spec.Buckets, s.Buckets) || got.Justification != just || got.Spec.Description != s.Description {
		t.Errorf("%s: stored %+v %q %q, submitted %+v %q %q", what, got.Spec.Buckets, got.Spec.Description, got.Justification,
			s.Buckets, s.Description, just)
	}
	set := env.db.Settings()
	plan, err := provision.NewPlan(got.Spec, set, provision.PlanMeta{RequestID: strconv.FormatInt(id, 10), Requester: got.Requester})
	if err != nil {
		t.Fatalf("%s: stored spec does not plan: %v", what, err)
	}
	checkGrants(t, what, plan.Policy.Document, s.Buckets, set.Partition)
}

// accessTable is what each access level may do: actions on the bucket
// ARN (listing) and on the prefix's object ARN.
var accessTable = map[provision.Access]struct{ bucket, object []string }{
	provision.AccessRead:      {[]string{"s3:ListBucket"}, []string{"s3:GetObject"}},
	provision.AccessWrite:     {nil, []string{"s3:AbortMultipartUpload", "s3:PutObject"}},
	provision.AccessReadWrite: {[]string{"s3:ListBucket"}, []string{"s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:PutObject"}},
}

// checkGrants parses a policy and checks every statement: Allow only,
// each action in the access table of a scope on that scope's own bucket
// or object ARN, listing narrowed to the scope's prefix.
func checkGrants(t *testing.T, what, doc string, scopes []provision.BucketScope, partition string) {
	t.Helper()
	var pol struct {
		Version   string
		Statement []struct {
			Sid       string
			Effect    string
			Action    []string
			Resource  []string
			Condition map[string]map[string][]string
		}
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pol); err != nil {
		t.Fatalf("%s: policy: %v\n%s", what, err, doc)
	}
	literal := func(p string) string { return strings.ReplaceAll(p, "$", "${$}") }
	type grant struct{ action, resource, listPrefix string }
	allowed := map[grant]bool{}
	for _, sc := range scopes {
		if strings.ContainsAny(sc.Bucket, "*?/$:") {
			t.Errorf("%s: bucket %q was accepted", what, sc.Bucket)
		}
		if strings.ContainsAny(sc.Prefix, "*?") || strings.Contains(sc.Prefix, "..") {
			t.Errorf("%s: prefix %q was accepted", what, sc.Prefix)
		}
		bucketARN := "arn:" + partition + ":s3:::" + sc.Bucket
		acts, ok := accessTable[sc.Access]
		if !ok {
			t.Errorf("%s: access %q was accepted", what, sc.Access)
		}
		for _, a := range acts.bucket {
			lp := ""
			if sc.Prefix != "" {
				lp = literal(sc.Prefix) + "*"
			}
			allowed[grant{a, bucketARN, lp}] = true
		}
		for _, a := range acts.object {
			allowed[grant{a, bucketARN + "/" + literal(sc.Prefix) + "*", ""}] = true
		}
	}
	if pol.Version != "2012-10-17" || len(pol.Statement) == 0 {
		t.Fatalf("%s: policy %s", what, doc)
	}
	for _, st := range pol.Statement {
		if st.Effect != "Allow" {
			t.Errorf("%s: statement %s has effect %q", what, st.Sid, st.Effect)
		}
		prefixes := []string{""}
		if st.Condition != nil {
			if len(st.Condition) != 1 || len(st.Condition["StringLike"]) != 1 || len(st.Condition["StringLike"]["s3:prefix"]) == 0 {
				t.Errorf("%s: statement %s condition %v", what, st.Sid, st.Condition)
			}
			prefixes = st.Condition["StringLike"]["s3:prefix"]
		}
		for _, a := range st.Action {
			for _, r := range st.Resource {
				for _, p := range prefixes {
					if !allowed[grant{a, r, p}] {
						t.Errorf("%s: statement %s grants %s on %s (listing %q), beyond the scopes %+v\n%s", what, st.Sid, a, r, p, scopes, doc)
					}
				}
			}
		}
	}
}
