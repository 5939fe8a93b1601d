package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// Flags come after the verb as readily as before it, as `token create
// --user NAME` has them: `rolegate migrate status --database-url URL` used
// to answer "say `up` or `status`", and `rolegate token revoke 3
// --database-url URL` to drop the URL unread and revoke token 3 of the dev
// database beside it, or of none.
func TestOneShotFlagsAfterTheVerb(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	// No DATABASE_URL, and a data directory with no dev in it: only the
	// flag names the database.
	env := map[string]string{"ROLEGATE_DATA_DIR": t.TempDir()}
	for _, args := range [][]string{
		{"migrate", "status", "--database-url", dbURL},
		{"migrate", "up", "--log-level", "warn", "--database-url", dbURL},
		{"audit", "verify", "--database-url", dbURL},
	} {
		if out, errOut, err := runCmd(t, env, args...); err != nil {
			t.Errorf("%s: %v\n%s%s", strings.Join(args[:2], " "), err, out, errOut)
		}
	}
	// migrate status names the installation ID that tags its roles, and
	// the roles without it that it adopts: none, in a new database.
	db := storetest.Open(t, dbURL, store.Options{})
	if out, _, err := runCmd(t, env, "migrate", "status", "--database-url", dbURL); err != nil ||
		db.Installation() == "" || !strings.Contains(out, "\ninstallation ID: "+db.Installation()+"\nuntagged roles adopted: none\n") {
		t.Fatalf("migrate status: %v\n%s", err, out)
	}
	if _, err := db.Pool().Exec(context.Background(), `UPDATE installation SET adopts_up_to = 41`); err != nil {
		t.Fatal(err)
	}
	if out, _, err := runCmd(t, env, "migrate", "status", "--database-url", dbURL); err != nil ||
		!strings.Contains(out, "\nuntagged roles adopted: those of requests 1 to 41 (made before the installation ID)\n") {
		t.Fatalf("migrate status of a database upgraded with requests: %v\n%s", err, out)
	}
	out, _, err := runCmd(t, env, "token", "create", "--user", "alice", "--role", "requester", "--database-url", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Split(strings.TrimPrefix(lastLine(out), "rgt_"), "_")[0]
	if out, _, err := runCmd(t, env, "token", "revoke", id, "--database-url", dbURL); err != nil || !strings.Contains(out, "revoked token "+id) {
		t.Fatalf("token revoke %s --database-url: %v\n%s", id, err, out)
	}
	if out, _, err := runCmd(t, env, "token", "list", "--database-url", dbURL); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("the token is not revoked: %v\n%s", err, out)
	}
}

// A word where no argument belongs is refused, naming it, rather than
// ignored with every flag after it: `rolegate serve --no-worker true
// --listen ...` served on the default address, and `rolegate dev
// --drift-repair true --listen ...` too.
func TestStrayArgumentsAreRefused(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	env := map[string]string{"ROLEGATE_DATA_DIR": t.TempDir(), "DATABASE_URL": dbURL}
	// Before the fix serve, worker and dev ran on, reading none of the
	// flags after the word.
	wantRefusals(t, env, []refusal{
		{[]string{"serve", "--no-worker", "true", "--listen", "127.0.0.1:0"}, `unexpected argument "true"`},
		{[]string{"worker", "extra"}, `unexpected argument "extra"`},
		{[]string{"dev", "--drift-repair", "false", "--listen", "127.0.0.1:0"}, `unexpected argument "false"`},
		{[]string{"drift", "repair"}, `unexpected argument "repair"`},
		{[]string{"export-terraform", "out", "--dir", t.TempDir()}, `unexpected argument "out"`},
		{[]string{"migrate", "up", "now"}, `unexpected argument "now"`},
		{[]string{"token", "list", "alice"}, `unexpected argument "alice"`},
		{[]string{"token", "revoke", "1", "2"}, `unexpected argument "2"`},
		{[]string{"sessions", "end", "--user", "alice", "bob"}, `unexpected argument "bob"`},
	})
}

// refusal is a command line and what its error must say.
type refusal struct {
	args []string
	want string
}

// wantRefusals runs each command line with env and fails the test for
// each that does not fail saying what it must. A command that ran on,
// ignoring what it should have refused, is ended by a deadline.
func wantRefusals(t *testing.T, env map[string]string, cases []refusal) {
	t.Helper()
	for _, tc := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := run(ctx, append([]string{"rolegate"}, tc.args...), func(k string) string { return env[k] }, io.Discard, io.Discard)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %s", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}

// `rolegate drift --drift-repair` (the worker's setting) is refused,
// pointing at --repair: it was accepted and repaired nothing. The
// worker's DRIFT_REPAIR in the environment does not stop a check.
func TestDriftRefusesTheWorkersRepairSetting(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	env := map[string]string{"ROLEGATE_DATA_DIR": t.TempDir(), "DATABASE_URL": dbURL}
	if out, errOut, err := runCmd(t, env, "migrate", "up", "--log-level", "warn"); err != nil {
		t.Fatalf("migrate up: %v\n%s%s", err, out, errOut)
	}
	_, _, err := runCmd(t, env, "drift", "--drift-repair")
	if err == nil || !strings.Contains(err.Error(), "`rolegate drift --repair` repairs now") {
		t.Fatalf("drift --drift-repair: %v, want a refusal naming --repair", err)
	}
	env["DRIFT_REPAIR"] = "true"
	if _, _, err := runCmd(t, env, "drift"); err != nil && strings.Contains(err.Error(), "--drift-repair") {
		t.Fatalf("drift with DRIFT_REPAIR=true in the environment: %v", err)
	}
}

// The commands that take flags alone read them wherever they stand, as
// serve does, before refusing a stray word: `rolegate service-policy extra
// --something x` named only "extra" and left --something unread, `bench
// extra --requests 5` ran the full bench with the flags after the word
// dropped, and `version extra` printed the version as if nothing followed.
func TestFlagOnlyCommandsReadFlagsPastAStrayWord(t *testing.T) {
	t.Parallel()
	// No database anywhere: a command that got past its flags fails
	// differently.
	env := map[string]string{"ROLEGATE_DATA_DIR": t.TempDir()}
	spec := writeSpec(t, seedSpec)
	wantRefusals(t, env, []refusal{
		{[]string{"service-policy", "extra", "--something", "x"}, "flag provided but not defined: -something"},
		{[]string{"service-policy", "--hub", "true", "--format", "terraform"}, "a switch takes its value after ="},
		{[]string{"render", "--spec", spec, "extra", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"iam-local", "--listen", "127.0.0.1:0", "extra", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"bench", "extra", "--requests", "5"}, `bench: unexpected argument "extra"`},
		{[]string{"version", "extra"}, `version: unexpected argument "extra"`},
	})
}

// A wrong flag of drift or export-terraform is refused before any
// connection is tried: with a database that does not answer, `drift
// --drift-repair` reported the connection failure instead of pointing at
// --repair.
func TestOperatorFlagsAreCheckedBeforeTheDatabase(t *testing.T) {
	t.Parallel()
	env := map[string]string{"ROLEGATE_DATA_DIR": t.TempDir(), "DATABASE_URL": "postgres://127.0.0.1:1/x"}
	for _, tc := range []refusal{
		{[]string{"drift", "--drift-repair"}, "`rolegate drift --repair` repairs now"},
		{[]string{"export-terraform"}, "--dir: say where to write the Terraform"},
	} {
		_, _, err := runCmd(t, env, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "database:") {
			t.Errorf("%s: %v, want the flag refused (%s) and no connection tried", strings.Join(tc.args, " "), err, tc.want)
		}
	}
}
