package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// ProvisionArgs is the job that brings IAM to the plan of one approved
// request version. Attempt distinguishes an admin's retry from the first
// run, so the retry is not swallowed by uniqueness.
type ProvisionArgs struct {
	RequestID int64 `json:"request_id" river:"unique"`
	Version   int   `json:"version" river:"unique"`
	Attempt   int   `json:"attempt" river:"unique"`
}

// Kind names the job in River.
func (ProvisionArgs) Kind() string { return "provision" }

// RevokeArgs is the job that removes a request's IAM resources.
type RevokeArgs struct {
	RequestID int64 `json:"request_id" river:"unique"`
	Attempt   int   `json:"attempt" river:"unique"`
}

// Kind names the job in River.
func (RevokeArgs) Kind() string { return "revoke" }

// WebhookArgs is one notification to deliver to one URL.
type WebhookArgs struct {
	URL     string         `json:"url"`
	EventID int64          `json:"event_id" river:"unique"`
	Target  int            `json:"target" river:"unique"`
	Payload map[string]any `json:"payload"`
}

// Kind names the job in River.
func (WebhookArgs) Kind() string { return "webhook" }

var uniqueByArgs = &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}

// enqueue inserts a job inside tx, so it exists exactly when the state
// change that asked for it commits.
func (db *DB) enqueue(ctx context.Context, tx pgx.Tx, args river.JobArgs) error {
	if _, err := db.river.InsertTx(ctx, tx, args, uniqueByArgs); err != nil {
		return fmt.Errorf("enqueue %s job: %w", args.Kind(), err)
	}
	return nil
}
