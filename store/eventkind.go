package store

import (
	"slices"
	"strings"
)

// Event kinds of the request lifecycle. Webhooks carry these names.
const (
	EventSubmitted        = "request.submitted"
	EventDecisionApproved = "decision.approved"
	EventDecisionRejected = "decision.rejected"
	EventApproved         = "request.approved"
	EventRejected         = "request.rejected"
	EventCancelled        = "request.cancelled"
	EventChangeSubmitted  = "change.submitted"
	EventChangeRejected   = "change.rejected"
	EventChangeCancelled  = "change.cancelled"
	EventProvisionStarted = "provision.started"
	EventProvisionStep    = "provision.step"
	EventActive           = "request.active"
	EventFailed           = "request.failed"
	EventRetried          = "request.retried"
	EventRevokeRequested  = "revoke.requested"
	EventRevoked          = "request.revoked"
	EventExpired          = "request.expired"
	EventExpiryReminder   = "expiry.reminder"
	EventDrift            = "drift.detected"
	EventDriftRepaired    = "drift.repaired"
	// Access reviews (ReviewPolicy): the reminder when a review falls
	// due, the owner's (or an admin's) confirmation or let-go, and the
	// revocation of a role whose review went unanswered.
	EventReviewReminder  = "review.reminder"
	EventReviewConfirmed = "review.confirmed"
	EventReviewLetGo     = "review.let_go"
	EventReviewLapsed    = "review.lapsed"
	// EventSuperseded: a version on its way to IAM (pending, approved,
	// being provisioned, or failed) was dropped because the role is being
	// revoked or has expired; its data names the state it was in.
	EventSuperseded = "version.superseded"
)

// wording is how people read one kind of event.
type wording struct {
	// title follows the actor's name on a request's timeline.
	title string
	// notice follows "request #N" in a webhook's text. Webhooks receive
	// exactly the kinds that have one.
	notice string
}

// words holds the human wording of every event kind that has one; a new
// kind gets its timeline title here, and a notice if webhooks should
// announce it.
var words = map[string]wording{
	EventSubmitted:        {"submitted the request", "was submitted"},
	EventDecisionApproved: {"approved", ""},
	EventDecisionRejected: {"rejected", ""},
	EventApproved:         {"request approved; provisioning queued", "was approved"},
	EventRejected:         {"request rejected", "was rejected"},
	EventCancelled:        {"cancelled the request", ""},
	EventChangeSubmitted:  {"asked for a change", "has a change waiting for approval"},
	EventChangeRejected:   {"change rejected; the role stays as it was", ""},
	EventChangeCancelled:  {"cancelled the change", ""},
	EventProvisionStarted: {"provisioning started", ""},
	EventProvisionStep:    {"provisioning step", ""},
	EventActive:           {"role is active", "is active"},
	EventFailed:           {"failed", "failed to provision"},
	EventRetried:          {"retried", ""},
	EventRevokeRequested:  {"asked to revoke the role", ""},
	EventSuperseded:       {"version dropped: the role is being removed", ""},
	EventRevoked:          {"role revoked", "was revoked"},
	EventExpired:          {"role expired", "expired and was removed"},
	EventExpiryReminder:   {"expiry reminder sent", "expires soon"},
	EventDrift:            {"drift detected: IAM differs from the plan", "drifted from its approved plan"},
	EventDriftRepaired:    {"drift repaired", ""},
	EventReviewReminder:   {"access review due: the owner must confirm the role is still needed", "is due for its access review: its owner confirms it is still needed, or it is revoked"},
	EventReviewConfirmed:  {"confirmed in the access review that the role is still needed", ""},
	EventReviewLetGo:      {"let the role go in its access review", ""},
	EventReviewLapsed:     {"access review unanswered: the role is being revoked", "was not confirmed in its access review and is being revoked"},
}

// EventTitle returns how a request's timeline words an event of kind,
// after the name of its actor ("alice submitted the request"); a kind
// without wording is returned as it is.
func EventTitle(kind string) string {
	if t := words[kind].title; t != "" {
		return t
	}
	return kind
}

// notified reports whether webhooks receive events of kind.
func notified(kind string) bool { return words[kind].notice != "" }

// systemActors are the names rolegate itself writes events under.
var systemActors = []string{"rolegate", "worker", "drift-check", "cli", ReviewActor}

// ReviewActor is the name access reviews' reminders and revocations are
// recorded under.
const ReviewActor = "access-review"

// IsSystemActor reports whether name is one rolegate writes its own
// events under, in any case (SamePerson): a user who happens to bear it is
// not the author of those, and sign-in and tokens refuse such a name
// (UserNameFault).
func IsSystemActor(name string) bool {
	return slices.ContainsFunc(systemActors, func(s string) bool { return SamePerson(s, strings.TrimSpace(name)) })
}
