package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
)

func TestSessionsListEnd(t *testing.T) {
	t.Parallel()
	db, dbURL := openTestDB(t, store.Options{})
	ctx := context.Background()
	_, alice, err := db.CreateSession(ctx, store.NewSession{User: "alice", Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	_, bob, err := db.CreateSession(ctx, store.NewSession{User: "bob", Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		env := func(k string) string { return map[string]string{"DATABASE_URL": dbURL}[k] }
		err := run(ctx, append([]string{"rolegate", "sessions"}, args...), env, &out, &errOut)
		return out.String(), err
	}
	if out, err := cli("list"); err != nil || !strings.Contains(out, "alice") || !strings.Contains(out, "bob") || strings.Contains(out, alice) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if out, err := cli("end", "--user", "alice"); err != nil || !strings.Contains(out, "ended 1 sessions of alice") {
		t.Fatalf("end: %v %s", err, out)
	}
	if _, err := db.LookupSession(ctx, alice); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("alice's session survived: %v", err)
	}
	if _, err := db.LookupSession(ctx, bob); err != nil {
		t.Errorf("bob's session ended: %v", err)
	}
	if out, err := cli("list", "--user", "alice"); err != nil || strings.Contains(out, "alice") {
		t.Fatalf("list after end: %v\n%s", err, out)
	}
	if _, err := cli("end"); err == nil || !strings.Contains(err.Error(), "--user is required") {
		t.Errorf("end without --user: %v", err)
	}
}
