package main

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

func TestAuditVerify(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, url := openTestDB(t, store.Options{MaxConns: 2})
	var ids []int64
	for _, name := range []string{"reports-reader", "exports-reader", "logs-reader"} {
		r, err := db.CreateRequest(ctx, store.NewRequest{Requester: "alice", Justification: "reports",
			Spec: provision.RoleSpec{Name: name, Buckets: []provision.BucketScope{{Bucket: "reports", Access: provision.AccessRead}}}})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := db.ListEvents(ctx, store.EventFilter{RequestID: r.ID})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev[0].ID)
	}
	audit := func(args ...string) (string, string, error) {
		var stdout, stderr bytes.Buffer
		err := run(ctx, append([]string{"rolegate", "audit"}, args...), func(k string) string {
			if k == "DATABASE_URL" {
				return url
			}
			return ""
		}, &stdout, &stderr)
		return stdout.String(), stderr.String(), err
	}

	out, errOut, err := audit("verify")
	if err != nil || out != "audit chain intact: 3 events\n" {
		t.Fatalf("intact chain: err = %v, stdout = %q, stderr = %q", err, out, errOut)
	}

	// Alter the middle event as a superuser would, past the trigger.
	tx, err := db.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	for _, sql := range []string{
		`ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only`,
		`UPDATE audit_events SET actor = 'mallory' WHERE id = ` + strconv.FormatInt(ids[1], 10),
		`ALTER TABLE audit_events ENABLE TRIGGER audit_events_append_only`,
	} {
		if _, err := tx.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	out, _, err = audit("verify")
	if !errors.Is(err, errAlreadyReported) || !strings.HasPrefix(out, "audit chain broken at event "+strconv.FormatInt(ids[1], 10)+": content altered") {
		t.Fatalf("altered chain: err = %v, stdout = %q", err, out)
	}

	if _, errOut, err := audit("check"); err == nil || !strings.Contains(errOut, "verify") {
		t.Fatalf("audit check: err = %v, stderr = %q", err, errOut)
	}
}
