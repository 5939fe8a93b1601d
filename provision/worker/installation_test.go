package worker_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
)

// setupBeside is a second rolegate installation, with a database of its
// own, in the AWS account of a: both reach a's IAM endpoint, as a staging
// and a production rolegate sharing one account do.
func setupBeside(t *testing.T, a *env) *env {
	t.Helper()
	b := setup(t, func(c *worker.Config, _ *store.Options) { c.Reconciler = fastReconciler(t, a.url) })
	b.iam, b.api, b.url = a.iam, a.api, a.url
	if b.db.Installation() == a.db.Installation() {
		t.Fatalf("two databases with one installation ID %s", a.db.Installation())
	}
	return b
}

// policyOf returns the inline policy of role name.
func (e *env) policyOf(name string) string {
	e.t.Helper()
	out, err := e.api.GetRolePolicy(context.Background(), &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(provision.InlinePolicyName)})
	if err != nil {
		e.t.Fatalf("policy of %s: %v", name, err)
	}
	return aws.ToString(out.PolicyDocument)
}

// installationTag returns the installation tags of role name and its
// instance profile.
func (e *env) installationTag(name string) (role, profile string) {
	e.t.Helper()
	ctx := context.Background()
	r, err := e.api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := e.api.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String(name)})
	if err != nil {
		e.t.Fatal(err)
	}
	find := func(tags []types.Tag) string {
		for _, t := range tags {
			if aws.ToString(t.Key) == provision.TagInstallation {
				return aws.ToString(t.Value)
			}
		}
		return ""
	}
	return find(r.Role.Tags), find(p.InstanceProfile.Tags)
}

// deleteRoleAndProfileByHand removes role name and its instance profile as
// someone with the console would.
func (e *env) deleteRoleAndProfileByHand(name string) {
	e.t.Helper()
	e.deleteRoleByHand(name)
	if _, err := e.api.DeleteInstanceProfile(context.Background(), &iam.DeleteInstanceProfileInput{InstanceProfileName: aws.String(name)}); err != nil {
		e.t.Fatal(err)
	}
}

var (
	prodScope    = provision.BucketScope{Bucket: "prod-data", Access: provision.AccessRead}
	stagingScope = provision.BucketScope{Bucket: "staging-data", Access: provision.AccessRead}
)

// Two installations in one account each have a request of the same ID
// for a role of the same name. The second one's provisioning is refused
// for good with the reason, naming the installation tag, and its
// revocation removes nothing: the first's role keeps its policy and tags.
// Its stored Terraform, like its role, carries its installation's ID.
func TestSecondInstallationLeavesTheFirstsRole(t *testing.T) {
	t.Parallel()
	prod := setup(t, nil)
	staging := setupBeside(t, prod)
	ctx := context.Background()
	p := prod.activate("shared-name", prodScope)
	before := prod.policyOf("shared-name")

	s := staging.submit("shared-name", stagingScope)
	if s.ID != p.ID {
		t.Fatalf("request IDs %d and %d: the test needs one ID in both databases", p.ID, s.ID)
	}
	staging.approve(s)
	failed := staging.awaitAny(s.ID, func(r store.Request) bool {
		return r.Status == store.StatusFailed || r.Status == store.StatusActive
	})
	if failed.Status != store.StatusFailed || !containsAll(failed.StatusReason, provision.CodeForeignEntity, provision.TagInstallation,
		prod.db.Installation(), staging.db.Installation()) {
		t.Fatalf("the second installation's provisioning ended %s (%s), want failed naming the installation tags", failed.Status, failed.StatusReason)
	}
	if got := prod.policyOf("shared-name"); got != before {
		t.Fatalf("the second installation changed the first's policy:\n%s\n->\n%s", before, got)
	}

	if _, err := staging.db.Revoke(ctx, alice, s.ID); err != nil {
		t.Fatal(err)
	}
	if got := staging.awaitAny(s.ID, revokedOrFailed); got.Status != store.StatusRevoked {
		t.Fatalf("the second installation's revocation ended %s (%s)", got.Status, got.StatusReason)
	}
	if !prod.roleExists("shared-name") || !prod.profileExists("shared-name") {
		t.Fatal("the second installation's revocation removed the first's role or profile")
	}
	if got := prod.policyOf("shared-name"); got != before {
		t.Fatalf("the first's policy changed:\n%s\n->\n%s", before, got)
	}
	if role, prof := prod.installationTag("shared-name"); role != prod.db.Installation() || prof != prod.db.Installation() {
		t.Fatalf("installation tags %q (role), %q (profile), want the first's %s", role, prof, prod.db.Installation())
	}
	versions, err := prod.db.ListVersions(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tf := versions[0].Terraform; !strings.Contains(tf, `"rolegate:installation" = "`+prod.db.Installation()+`"`) {
		t.Fatalf("the stored Terraform lacks the installation tag:\n%s", tf)
	}
}

// A live role of one installation whose name the role of another's
// request of the same ID has taken in IAM (the first's was deleted by
// hand) is that request's drift, recorded and never repaired, and its
// revocation fails rather than delete the other's role.
func TestInstallationsDoNotRepairOrRevokeEachOthersRoles(t *testing.T) {
	t.Parallel()
	staging := setup(t, nil)
	prod := setupBeside(t, staging)
	ctx := context.Background()
	s := staging.activate("shared-name", stagingScope)
	staging.deleteRoleAndProfileByHand("shared-name")
	p := prod.activate("shared-name", prodScope)
	if s.ID != p.ID {
		t.Fatalf("request IDs %d and %d: the test needs one ID in both databases", s.ID, p.ID)
	}
	before := prod.policyOf("shared-name")

	found, err := worker.CheckDrift(ctx, staging.db, provision.SingleAccount(staging.cfg.Reconciler), staging.cfg.Settings, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Repaired || !strings.Contains(strings.Join(found[0].Changes, "\n"), provision.TagInstallation) {
		t.Fatalf("the drift check of the installation whose role is gone = %+v, want its role recorded as someone else's, not repaired", found)
	}
	if got := prod.policyOf("shared-name"); got != before {
		t.Fatalf("the other installation's drift repair changed the role:\n%s\n->\n%s", before, got)
	}
	found, err = worker.CheckDrift(ctx, prod.db, provision.SingleAccount(prod.cfg.Reconciler), prod.cfg.Settings, true)
	if err != nil || len(found) != 0 {
		t.Fatalf("the drift check of the role's own installation = %+v, %v; want no drift", found, err)
	}

	if _, err := staging.db.Revoke(ctx, alice, s.ID); err != nil {
		t.Fatal(err)
	}
	got := staging.awaitAny(s.ID, revokedOrFailed)
	if got.Status != store.StatusFailed || !strings.Contains(got.StatusReason, provision.TagInstallation) {
		t.Fatalf("the revocation of a role another installation's took the name of ended %s (%s), want failed naming the installation tag", got.Status, got.StatusReason)
	}
	if !prod.roleExists("shared-name") || prod.policyOf("shared-name") != before {
		t.Fatal("the other installation's revocation removed or changed the role")
	}
}

// untagInstallation takes the installation tag off role and profile name,
// as a rolegate from before installation IDs made them.
func (e *env) untagInstallation(name string) {
	e.t.Helper()
	ctx, n := context.Background(), aws.String(name)
	if _, err := e.api.UntagRole(ctx, &iam.UntagRoleInput{RoleName: n, TagKeys: []string{provision.TagInstallation}}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.api.UntagInstanceProfile(ctx, &iam.UntagInstanceProfileInput{InstanceProfileName: n, TagKeys: []string{provision.TagInstallation}}); err != nil {
		e.t.Fatal(err)
	}
}

// madeBeforeInstallationID records that e's requests up to id were made
// before its database drew its installation ID, as migration 22 finds in
// a database upgraded with requests, and restarts rolegate on it.
func (e *env) madeBeforeInstallationID(id int64) {
	e.t.Helper()
	if _, err := e.db.Pool().Exec(context.Background(), `UPDATE installation SET adopts_up_to = $1`, id); err != nil {
		e.t.Fatal(err)
	}
	e.reopen(func(*provision.Settings) {})
	if got := e.db.AdoptsUpTo(); got != id {
		e.t.Fatalf("the store adopts for requests up to %d, want %d", got, id)
	}
}

// A live role provisioned before installation IDs (rolegate's other tags
// for its request, no installation tag) is the drift of a missing tag,
// which a repair puts on: the role is adopted, and clean afterwards.
func TestRoleFromBeforeInstallationIDsIsAdopted(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	ctx := context.Background()
	r := e.activate("older-role")
	e.untagInstallation("older-role")
	e.madeBeforeInstallationID(r.ID)
	recs := provision.SingleAccount(e.cfg.Reconciler)
	found, err := worker.CheckDrift(ctx, e.db, recs, e.cfg.Settings, false)
	if err != nil || len(found) != 1 || found[0].RequestID != r.ID || !strings.Contains(strings.Join(found[0].Changes, "\n"), "tags set: "+provision.TagInstallation) {
		t.Fatalf("drift check of a role from before installation IDs = %+v, %v; want the missing tag", found, err)
	}
	found, err = worker.CheckDrift(ctx, e.db, recs, e.cfg.Settings, true)
	if err != nil || len(found) != 1 || !found[0].Repaired {
		t.Fatalf("repair = %+v, %v", found, err)
	}
	if role, prof := e.installationTag("older-role"); role != e.db.Installation() || prof != e.db.Installation() {
		t.Fatalf("after the repair the installation tags are %q (role), %q (profile), want %s", role, prof, e.db.Installation())
	}
	if found, err := worker.CheckDrift(ctx, e.db, recs, e.cfg.Settings, false); err != nil || len(found) != 0 {
		t.Fatalf("drift check after adoption = %+v, %v; want the role clean again", found, err)
	}
}

// A role one installation made before installation IDs (no installation
// tag) is adopted by its own request, made before that installation drew
// its ID, and by no request of the same ID and role name made in another
// installation after that one drew its own: such a request's provisioning
// is refused for good, saying the role was not made by its installation,
// and its revocation leaves the role. The role keeps its policy and stays
// untagged until its own installation adopts it.
func TestUntaggedRoleIsAdoptedOnlyByARequestFromBeforeTheInstallationID(t *testing.T) {
	t.Parallel()
	prod := setup(t, nil)
	ctx := context.Background()
	p := prod.activate("legacy-name", prodScope)
	prod.untagInstallation("legacy-name")
	prod.madeBeforeInstallationID(p.ID)
	before := prod.policyOf("legacy-name")

	// Upgraded (or new) beside it, with no request before its ID.
	staging := setupBeside(t, prod)
	if n := staging.db.AdoptsUpTo(); n != 0 {
		t.Fatalf("a new database adopts for requests up to %d, want none", n)
	}
	s := staging.submit("legacy-name", stagingScope)
	if s.ID != p.ID {
		t.Fatalf("request IDs %d and %d: the test needs one ID in both databases", p.ID, s.ID)
	}
	staging.approve(s)
	failed := staging.awaitAny(s.ID, func(r store.Request) bool {
		return r.Status == store.StatusFailed || r.Status == store.StatusActive
	})
	if failed.Status != store.StatusFailed || !containsAll(failed.StatusReason, provision.CodeForeignEntity,
		"not created by this installation", "no "+provision.TagInstallation+" tag", staging.db.Installation()) {
		t.Fatalf("the later request's provisioning ended %s (%s), want failed saying the role is not this installation's", failed.Status, failed.StatusReason)
	}
	if got := prod.policyOf("legacy-name"); got != before {
		t.Fatalf("the later request changed the role's policy:\n%s\n->\n%s", before, got)
	}
	if _, err := staging.db.Revoke(ctx, alice, s.ID); err != nil {
		t.Fatal(err)
	}
	if got := staging.awaitAny(s.ID, revokedOrFailed); got.Status != store.StatusRevoked {
		t.Fatalf("the later request's revocation ended %s (%s)", got.Status, got.StatusReason)
	}
	if !prod.roleExists("legacy-name") || !prod.profileExists("legacy-name") || prod.policyOf("legacy-name") != before {
		t.Fatal("the later request's revocation removed or changed the role or its profile")
	}
	if role, prof := prod.installationTag("legacy-name"); role != "" || prof != "" {
		t.Fatalf("the later request tagged the role %q and the profile %q", role, prof)
	}

	found, err := worker.CheckDrift(ctx, prod.db, provision.SingleAccount(prod.cfg.Reconciler), prod.cfg.Settings, true)
	if err != nil || len(found) != 1 || found[0].RequestID != p.ID || !found[0].Repaired {
		t.Fatalf("the drift repair of the role's own installation = %+v, %v; want it adopted", found, err)
	}
	if role, prof := prod.installationTag("legacy-name"); role != prod.db.Installation() || prof != prod.db.Installation() {
		t.Fatalf("after adoption the installation tags are %q (role), %q (profile), want %s", role, prof, prod.db.Installation())
	}
}

// The worker plans with its database's installation ID, and refuses
// settings that name another.
func TestWorkerTakesItsDatabasesInstallation(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	cfg := e.cfg
	cfg.Settings.Installation = "not-this-database"
	if _, err := worker.New(e.db.Pool(), e.db, cfg); err == nil || !strings.Contains(err.Error(), "installation") {
		t.Fatalf("worker.New with another installation's ID: %v, want refused", err)
	}
	if _, err := worker.CheckDrift(context.Background(), e.db, provision.SingleAccount(e.cfg.Reconciler), cfg.Settings, false); err == nil {
		t.Fatal("CheckDrift with another installation's ID ran")
	}
}
