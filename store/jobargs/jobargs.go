// Package jobargs holds the arguments of rolegate's background jobs, and
// so their kinds: the store enqueues provisioning, revocation and webhook
// jobs inside the transactions that ask for them, and the worker runs
// those and its own periodic jobs. It imports nothing of rolegate's, so
// both sides can import it (River's rivertype pattern). Each type satisfies
// river.JobArgs; the fields tagged river:"unique" make two inserts of the
// same job one job.
package jobargs

import (
	"crypto/sha256"
	"encoding/hex"
)

// Provision is the job that brings IAM to the plan of one approved
// request version. Attempt distinguishes an admin's retry from the first
// run, so the retry is not swallowed by uniqueness.
type Provision struct {
	RequestID int64 `json:"request_id" river:"unique"`
	Version   int   `json:"version" river:"unique"`
	Attempt   int   `json:"attempt" river:"unique"`
}

// Kind names the job in River.
func (Provision) Kind() string { return "provision" }

// Revoke is the job that removes a request's IAM resources.
type Revoke struct {
	RequestID int64 `json:"request_id" river:"unique"`
	Attempt   int   `json:"attempt" river:"unique"`
}

// Kind names the job in River.
func (Revoke) Kind() string { return "revoke" }

// Webhook is one notification to deliver to one receiver. The job names
// its receiver by ReceiverID, never by its URL: a Slack-style webhook URL
// is itself the secret that lets anyone post, and the job's arguments are
// stored in the database and shown in its errors. The worker looks the URL
// up among its own --webhook-urls.
type Webhook struct {
	// URL is the receiver's address in jobs enqueued before Receiver
	// existed (migration 18 moves those it finds to Receiver); new jobs
	// leave it empty.
	URL      string         `json:"url,omitempty"`
	Receiver string         `json:"receiver,omitempty"`
	EventID  int64          `json:"event_id" river:"unique"`
	Target   int            `json:"target" river:"unique"`
	Payload  map[string]any `json:"payload"`
}

// ReceiverID names the webhook receiver at url without revealing it: the
// first 128 bits of SHA-256("rolegate webhook receiver:" + url), in hex.
// Migration 18 computes the same in SQL.
func ReceiverID(url string) string {
	sum := sha256.Sum256([]byte("rolegate webhook receiver:" + url))
	return hex.EncodeToString(sum[:16])
}

// Kind names the job in River.
func (Webhook) Kind() string { return "webhook" }

// Expire is the periodic job that revokes expired roles, sends expiry
// reminders and removes expired API idempotency keys.
type Expire struct{}

// Kind names the job in River.
func (Expire) Kind() string { return "expire" }

// Drift is the periodic job that compares active roles with their plans.
type Drift struct{}

// Kind names the job in River.
func (Drift) Kind() string { return "drift" }

// Seal is the periodic job that chains new audit events into the audit
// trail's hash chain.
type Seal struct{}

// Kind names the job in River.
func (Seal) Kind() string { return "audit-seal" }

// Review is the periodic job that sends access review reminders and
// revokes the roles whose review went unanswered.
type Review struct{}

// Kind names the job in River.
func (Review) Kind() string { return "access-review" }
