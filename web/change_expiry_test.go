package web

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
)

// The change form shows the expiry as a date; sending that date back
// unchanged keeps the expiry of a role whose spec asked for a time of day
// (through the API), rather than asking for midnight of that day. The
// approver of such a change may shorten the expiry in force, not the one
// the spec asked for.
func TestChangeFormKeepsTheExpiry(t *testing.T) {
	f := uiProxyTest(t)
	alice, bob := f.client("alice", ""), f.client("bob", approverGroups)
	month := time.Now().UTC().Add(30 * 24 * time.Hour)
	asked := time.Date(month.Year(), month.Month(), month.Day(), 12, 34, 56, 0, time.UTC)
	in := uiNewReq("keeps-expiry", "alice")
	in.Spec.ExpiresAt = &asked
	first := uiCreate(t, f.db, in)
	short := time.Now().UTC().Add(7 * 24 * time.Hour).Truncate(time.Second)
	if _, err := f.db.Decide(f.ctx, store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}, first.ID, 1,
		store.Decision{Approve: true, ExpiresAt: &short}); err != nil {
		t.Fatal(err)
	}
	live := uiActivate(t, f.db, first)
	inForce := *live.ExpiresAt
	page := fmt.Sprintf("/requests/%d", live.ID)

	// The form's preview, when it opens and as it is typed in, says what
	// the change will get: the expiry in force (it said midnight of the
	// date asked for).
	pageHas(t, alice.get(page+"/change"), fmt.Sprintf(`value="%s"`, asked.Format(time.DateOnly)), "expires "+stamp(inForce))
	form := url.Values{"name": {"keeps-expiry"}, "description": {"reads reports, typo fixed"},
		"justification": {"typo"}, "bucket": {"team-reports"}, "prefix": {"daily/"}, "access": {"read"},
		"expires": {asked.Format(time.DateOnly)}}
	typed := url.Values{"change_of": {fmt.Sprint(live.ID)}}
	for k, v := range form {
		typed[k] = v
	}
	pageHas(t, alice.post("/requests/preview", typed), "expires "+stamp(inForce))
	pageHas(t, alice.follow(page+"/change", form), "Change to keeps-expiry submitted")

	events, err := f.db.ListEvents(f.ctx, store.EventFilter{RequestID: live.ID, Kind: store.EventChangeSubmitted})
	if err != nil || len(events) != 1 {
		t.Fatalf("change events = %+v, %v", events, err)
	}
	var diff []string
	for _, l := range events[0].Data["diff"].([]any) {
		diff = append(diff, l.(string))
	}
	if want := []string{"~ description changed"}; !slices.Equal(diff, want) {
		t.Fatalf("diff = %q, want %q", diff, want)
	}
	vs, err := f.db.ListVersions(f.ctx, live.ID)
	if err != nil || len(vs) != 2 || !vs[1].KeepsExpiry || vs[1].Spec.ExpiresAt == nil || !vs[1].Spec.ExpiresAt.Equal(asked) {
		t.Fatalf("versions = %+v, %v; want version 2 to keep the expiry asked for", vs, err)
	}
	decide := bob.get(page)
	pageHas(t, decide, "keeps the role", stamp(inForce), fmt.Sprintf(`max="%s"`, expiryValue(&inForce)))
	pageLacks(t, decide, "Asked for "+stamp(asked))
}

// TestChangePreviewKeepsTheApproversExpiry: a role asked for without an
// expiry, which its approver gave one, keeps that expiry through a change
// that asks for none (as the live version did). The change form's
// preview said "never expires" and flagged no-expiry, while the change,
// once submitted, kept the expiry in force.
func TestChangePreviewKeepsTheApproversExpiry(t *testing.T) {
	f := uiProxyTest(t)
	alice := f.client("alice", "")
	first := uiCreate(t, f.db, uiNewReq("approver-expiry", "alice"))
	set := time.Now().UTC().Add(10 * 24 * time.Hour).Truncate(time.Second)
	if _, err := f.db.Decide(f.ctx, store.Actor{Name: "bob", Roles: []store.Role{store.RoleApprover}}, first.ID, 1,
		store.Decision{Approve: true, ExpiresAt: &set}); err != nil {
		t.Fatal(err)
	}
	live := uiActivate(t, f.db, first)
	if live.ExpiresAt == nil {
		t.Fatal("the live role has no expiry")
	}
	inForce := "expires " + stamp(*live.ExpiresAt)

	form := alice.get(fmt.Sprintf("/requests/%d/change", live.ID))
	pageHas(t, form, `name="expires" value=""`, inForce)
	pageLacks(t, form, "never expires", `data-risk="no-expiry"`)
	typed := url.Values{"change_of": {fmt.Sprint(live.ID)}, "name": {"approver-expiry"}, "bucket": {"team-reports"},
		"prefix": {"daily/"}, "access": {"read"}, "expires": {""}}
	pv := alice.post("/requests/preview", typed)
	pageHas(t, pv, inForce)
	pageLacks(t, pv, "never expires", `data-risk="no-expiry"`)
}

// TestChangeKeepingAnExpiryAskedForThatHasPassed: a lifetime counts from
// activation, so a role that went live later than asked expires after the
// expiry its spec asked for, which may have passed. A change that sends
// that expiry back keeps the expiry in force and asks for nothing new: its
// preview and its submission both take it (the preview said "expiry must
// be in the future", and submitting was refused with the same words, at
// no field).
func TestChangeKeepingAnExpiryAskedForThatHasPassed(t *testing.T) {
	f := uiProxyTest(t)
	alice := f.client("alice", "")
	in := uiNewReq("late-start", "alice")
	soon := time.Now().UTC().Add(48 * time.Hour).Truncate(time.Second)
	in.Spec.ExpiresAt = &soon
	live := uiActivate(t, f.db, uiCreate(t, f.db, in))
	// The role went live three days after it was asked for: the expiry
	// its spec asked for is a day past, the one in force a day ahead.
	asked := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Second)
	inForce := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
	if _, err := f.db.Pool().Exec(f.ctx, `UPDATE request_versions SET expires_at = $2 WHERE request_id = $1`, live.ID, asked); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Pool().Exec(f.ctx, `UPDATE requests SET expires_at = $2 WHERE id = $1`, live.ID, inForce); err != nil {
		t.Fatal(err)
	}
	page := fmt.Sprintf("/requests/%d", live.ID)
	form := url.Values{"name": {"late-start"}, "description": {"reads reports, typo fixed"},
		"justification": {"typo"}, "bucket": {"team-reports"}, "prefix": {"daily/"}, "access": {"read"},
		"expires": {asked.Format(time.DateOnly)}}
	typed := url.Values{"change_of": {fmt.Sprint(live.ID)}}
	for k, v := range form {
		typed[k] = v
	}

	opened := alice.get(page + "/change")
	pageHas(t, opened, fmt.Sprintf(`value="%s"`, asked.Format(time.DateOnly)), "expires "+stamp(inForce))
	pageLacks(t, opened, "must be in the future")
	pv := alice.post("/requests/preview", typed)
	pageHas(t, pv, "expires "+stamp(inForce))
	pageLacks(t, pv, "must be in the future")
	pageHas(t, alice.follow(page+"/change", form), "Change to late-start submitted")
	vs, err := f.db.ListVersions(f.ctx, live.ID)
	if err != nil || len(vs) != 2 || !vs[1].KeepsExpiry {
		t.Fatalf("versions = %+v, %v; want version 2 to keep the expiry in force", vs, err)
	}
}
