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

// TestListsWriteUserNamesOnOneRow: a user name is the identity provider's
// (an OIDC claim may hold any character): the lists write its controls out
// as they write a token's description, so a name stored before sign-in
// refused such names neither sends a sequence to the operator's terminal
// nor adds a row of its own.
func TestListsWriteUserNamesOnOneRow(t *testing.T) {
	t.Parallel()
	db, dbURL := openTestDB(t, store.Options{})
	ctx := context.Background()
	if _, _, err := db.CreateSession(ctx, store.NewSession{User: "eve", Lifetime: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.CreateToken(ctx, store.NewToken{User: "eve", Description: "deploy"}); err != nil {
		t.Fatal(err)
	}
	// Stored before sign-in refused such names (store.UserNameFault).
	name := "eve\x1b]0;owned\x07\u202e\nmallory\t2026-01-01T00:00:00Z"
	for _, table := range []string{"web_sessions", "api_tokens"} {
		if _, err := db.Pool().Exec(ctx, `UPDATE `+table+` SET user_name = $1`, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range [][]string{{"sessions", "list"}, {"token", "list"}, {"token", "revoke", "1"}} {
		var out, errOut bytes.Buffer
		env := func(k string) string { return map[string]string{"DATABASE_URL": dbURL}[k] }
		if err := run(ctx, append([]string{"rolegate"}, cmd...), env, &out, &errOut); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
		rows := 2 // the header and eve's row
		if cmd[1] == "revoke" {
			rows = 1
		}
		if s := out.String(); strings.ContainsAny(s, "\x1b\x07\u202e") || strings.Count(s, "\n") != rows ||
			!strings.Contains(s, "eve[U+001B escape]]0;owned[U+0007") {
			t.Errorf("%v:\n%q", cmd, s)
		}
	}
}
