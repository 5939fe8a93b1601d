package store_test

import (
	"strings"
	"testing"

	"github.com/rolegate/rolegate/store/jobargs"
)

// TestWebhookMigrationTakesURLsOutOfJobs: migration 18 moves webhook jobs
// stored before it from their receiver's URL to its ID, and takes the URL
// out of the errors River recorded for them, leaving other jobs alone.
func TestWebhookMigrationTakesURLsOutOfJobs(t *testing.T) {
	db, ctx := setupBelow(t, 18)
	const url = "https://hooks.example.com/services/T01/B02/aSecret"
	if _, err := db.Pool().Exec(ctx, `
		INSERT INTO river_job (kind, args, max_attempts, state, errors, finalized_at) VALUES
		('webhook', jsonb_build_object('url', $1::text, 'event_id', 7, 'target', 0, 'payload', '{"kind":"request.submitted"}'::jsonb),
		 10, 'retryable', ARRAY[jsonb_build_object('attempt', 1, 'error', 'deliver webhook: Post "' || $1 || '": connection refused'),
		                        '{"attempt": 2}'::jsonb], NULL),
		('webhook', jsonb_build_object('url', $1::text, 'event_id', 8, 'target', 0, 'payload', '{}'::jsonb),
		 10, 'completed', NULL, now()),
		('provision', '{"request_id": 1, "version": 1, "attempt": 0}', 10, 'available', NULL, NULL)`, url); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Pool().Query(ctx, `SELECT kind, args, coalesce(array_to_string(errors, ' '), '') FROM river_job ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var kind, errs string
		var args map[string]any
		if err := rows.Scan(&kind, &args, &errs); err != nil {
			t.Fatal(err)
		}
		if kind == "webhook" {
			if _, ok := args["url"]; ok || args["receiver"] != jobargs.ReceiverID(url) || args["event_id"] == nil || args["payload"] == nil {
				t.Errorf("webhook job after the migration: %v", args)
			}
			if strings.Contains(errs, "aSecret") {
				t.Errorf("a webhook job's errors still hold the URL: %s", errs)
			}
		} else if args["request_id"] != float64(1) {
			t.Errorf("%s job changed: %v", kind, args)
		}
		got = append(got, kind+" "+errs)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !strings.Contains(got[0], `Post \"(the webhook URL)\": connection refused`) || !strings.Contains(got[0], `"attempt": 2`) {
		t.Fatalf("jobs after the migration: %q", got)
	}
}
