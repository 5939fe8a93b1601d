package storetest

import (
	"context"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// Provision does for version of request id, once it is approved, what the
// worker does, without IAM: it begins provisioning, builds the version's
// plan and Terraform, and completes with the plan's ARNs and that
// Terraform. It returns the Terraform; it fails the test on any error.
func Provision(tb testing.TB, db *store.DB, id int64, version int) []byte {
	tb.Helper()
	ctx := context.Background()
	work, err := db.BeginProvisioning(ctx, id, version)
	if err != nil {
		tb.Fatal(err)
	}
	plan, err := store.PlanOf(work, db.Settings())
	if err != nil {
		tb.Fatal(err)
	}
	tf, err := provision.Terraform(plan)
	if err != nil {
		tb.Fatal(err)
	}
	if err := db.CompleteProvisioning(ctx, id, version, store.ProvisionResult{
		RoleARN: plan.RoleARN(), InstanceProfileARN: plan.InstanceProfileARN(), Terraform: tf}); err != nil {
		tb.Fatal(err)
	}
	return tf
}
