package main

import (
	"context"
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// A one-shot command on a database a newer rolegate migrated says so,
// rather than to run `rolegate migrate up`, which this binary refuses for
// the same reason; on pending migrations it still says to migrate.
func TestOneShotCommandsOnANewerSchemaSayWhatToDo(t *testing.T) {
	t.Parallel()
	dbURL := storetest.URL(t)
	db := storetest.Open(t, dbURL, store.Options{MaxConns: 2})
	if _, err := db.Pool().Exec(context.Background(),
		`INSERT INTO goose_db_version (version_id, is_applied) VALUES (9999, true)`); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ROLEGATE_DATA_DIR": t.TempDir(), "DATABASE_URL": dbURL}
	for _, args := range [][]string{{"token", "list"}, {"drift"}, {"export-terraform", "--dir", t.TempDir()}} {
		_, _, err := runCmd(t, env, args...)
		if err == nil {
			t.Fatalf("%s on a newer schema succeeded", strings.Join(args, " "))
		}
		msg := err.Error()
		if strings.Contains(msg, "migrate up") || !strings.Contains(msg, "newer than this rolegate knows") ||
			!strings.Contains(msg, "use a rolegate as new as the database") {
			t.Errorf("%s on a newer schema: %q; want it to say the schema is newer and to use a newer rolegate, not to migrate",
				strings.Join(args, " "), msg)
		}
	}
	// Pending migrations: migrating is the answer.
	if _, err := db.Pool().Exec(context.Background(),
		`DELETE FROM goose_db_version WHERE version_id IN (9999, (SELECT max(version_id) FROM goose_db_version WHERE version_id < 9999))`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, env, "token", "list"); err == nil || !strings.Contains(err.Error(), "(run `rolegate migrate up`)") {
		t.Errorf("token list on pending migrations: %v, want it to say to run rolegate migrate up", err)
	}
}
