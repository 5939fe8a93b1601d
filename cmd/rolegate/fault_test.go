package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// The fault suites: rolegate keeps every approved request on its way to
// exactly one role, policy and instance profile when its worker is killed,
// when several processes share the queue, and when IAM throttles and fails.
// They run in CI by default; each is bounded by its own deadline.

// faultSeed fixes the random moments of the kill suite; it is printed so a
// failing run can be replayed.
const faultSeed = 20260108

var (
	faultRequester = "alice"
	faultApprover  = store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}
	workerUpRE     = regexp.MustCompile(`(msg="rolegate worker running")`)
)

// createApproved stores n read-only requests named prefix-NNN and approves
// each; it returns their IDs by role name.
func createApproved(t *testing.T, ctx context.Context, db *store.DB, n int, prefix string) map[string]int64 {
	t.Helper()
	ids := make(map[string]int64, n)
	for i := range n {
		r, err := db.CreateRequest(ctx, store.NewRequest{
			Requester: faultRequester, Justification: "fault suite",
			Spec: provision.RoleSpec{Name: fmt.Sprintf("%s-%03d", prefix, i),
				Buckets: []provision.BucketScope{{Bucket: "example-bucket", Prefix: fmt.Sprintf("team-%d/", i), Access: provision.AccessRead}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Decide(ctx, faultApprover, r.ID, r.Version, store.Decision{Approve: true}); err != nil {
			t.Fatal(err)
		}
		ids[r.Spec.Name] = r.ID
	}
	return ids
}

// awaitAllActive waits until n requests are active, failing at once when one
// fails (with its reason) and when ctx ends first.
func awaitAllActive(t *testing.T, ctx context.Context, db *store.DB, n int) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last map[store.Status]int
	for {
		counts, err := db.CountByStatus(ctx)
		if err == nil {
			last = counts
			if counts[store.StatusFailed] > 0 {
				var reasons []string
				rows, _ := db.Pool().Query(ctx, `SELECT role_name || ': ' || coalesce(status_reason, '') FROM requests WHERE status = 'failed'`)
				for rows.Next() {
					var s string
					if rows.Scan(&s) == nil {
						reasons = append(reasons, s)
					}
				}
				rows.Close()
				t.Fatalf("%d requests failed:\n%s", counts[store.StatusFailed], strings.Join(reasons, "\n"))
			}
			if counts[store.StatusActive] == n {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("not every request became active in time: %v (last error %v)", last, err)
		case <-tick.C:
		}
	}
}

// assertOneOfEach checks through the SDK that IAM holds exactly the roles
// named in want, each with exactly rolegate's one inline policy, no attached
// policy, ownership tags naming its request, and exactly one instance
// profile holding only that role; and nothing else.
func assertOneOfEach(t *testing.T, ctx context.Context, api *iam.Client, want map[string]int64) {
	t.Helper()
	var roles []string
	for p := iam.NewListRolesPaginator(api, &iam.ListRolesInput{}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Roles {
			roles = append(roles, aws.ToString(r.RoleName))
		}
	}
	profiles := map[string][]string{}
	for p := iam.NewListInstanceProfilesPaginator(api, &iam.ListInstanceProfilesInput{}); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ip := range page.InstanceProfiles {
			name := aws.ToString(ip.InstanceProfileName)
			if _, dup := profiles[name]; dup {
				t.Errorf("instance profile %s listed twice", name)
			}
			profiles[name] = []string{}
			for _, r := range ip.Roles {
				profiles[name] = append(profiles[name], aws.ToString(r.RoleName))
			}
		}
	}
	if len(roles) != len(want) || len(profiles) != len(want) {
		t.Errorf("IAM has %d roles and %d instance profiles for %d requests", len(roles), len(profiles), len(want))
	}
	seen := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, name := range roles {
		if seen[name] {
			t.Errorf("role %s listed twice", name)
		}
		seen[name] = true
		id, ok := want[name]
		if !ok {
			t.Errorf("role %s belongs to no request", name)
			continue
		}
		if got := profiles[name]; len(got) != 1 || got[0] != name {
			t.Errorf("instance profile %s holds %v, want exactly [%s]", name, got, name)
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			problems := roleProblems(ctx, api, name, id)
			mu.Lock()
			defer mu.Unlock()
			for _, p := range problems {
				t.Error(p)
			}
		}()
	}
	wg.Wait()
	for name := range profiles {
		if _, ok := want[name]; !ok {
			t.Errorf("instance profile %s belongs to no request", name)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("request %s has no role", name)
		}
	}
}

func roleProblems(ctx context.Context, api *iam.Client, name string, id int64) []string {
	var out []string
	inline, err := api.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", name, err)}
	}
	if len(inline.PolicyNames) != 1 || inline.PolicyNames[0] != provision.InlinePolicyName {
		out = append(out, fmt.Sprintf("role %s has inline policies %v, want exactly [%s]", name, inline.PolicyNames, provision.InlinePolicyName))
	}
	attached, err := api.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		return append(out, fmt.Sprintf("%s: %v", name, err))
	}
	if len(attached.AttachedPolicies) != 0 {
		out = append(out, fmt.Sprintf("role %s has %d attached policies, want none", name, len(attached.AttachedPolicies)))
	}
	tags, err := api.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(name)})
	if err != nil {
		return append(out, fmt.Sprintf("%s: %v", name, err))
	}
	owner := ""
	for _, tg := range tags.Tags {
		if aws.ToString(tg.Key) == provision.TagRequestID {
			owner = aws.ToString(tg.Value)
		}
	}
	if owner != fmt.Sprint(id) {
		out = append(out, fmt.Sprintf("role %s is tagged for request %q, want %d", name, owner, id))
	}
	return out
}

// awaitCondition polls cond until it holds, failing the test when ctx ends.
func awaitCondition(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s", what)
		case <-tick.C:
		}
	}
}
