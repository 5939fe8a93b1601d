package store

import (
	"slices"
	"strings"
)

// Role is what a user may do in rolegate.
type Role string

// The roles. Anyone signed in may request; approvers decide; admins also
// revoke any role and retry failed provisioning.
const (
	RoleRequester Role = "requester"
	RoleApprover  Role = "approver"
	RoleAdmin     Role = "admin"
)

// Roles lists every role.
func Roles() []Role { return []Role{RoleRequester, RoleApprover, RoleAdmin} }

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return slices.Contains(Roles(), r) }

// Actor is who asks for a change: a user name, their roles and the
// approver groups (data owners) they belong to. Identity comes from the web
// sign-in or an API token; the store only trusts what it is given.
type Actor struct {
	Name   string
	Roles  []Role
	Groups []string
}

// Has reports whether the actor holds role r.
func (a Actor) Has(r Role) bool { return slices.Contains(a.Roles, r) }

// InGroup reports whether the actor belongs to approver group g.
func (a Actor) InGroup(g string) bool { return slices.Contains(a.Groups, g) }

// Actions are what an actor may do to a request now; pages and the API
// offer exactly these, and the store functions enforce the same rules.
type Actions struct {
	Approve bool
	Reject  bool
	Cancel  bool
	Change  bool
	Revoke  bool
	Retry   bool
}

// Allowed returns what actor may do to r in its current state. Deciding
// also depends on the approval rules (routing groups); DB.Allowed adds
// those.
func allowed(a Actor, r Request, rules ApprovalRules) Actions {
	owner := a.Name == r.Requester
	var act Actions
	if r.Status == StatusPending && !SamePerson(a.Name, r.Requester) && rules.mayDecide(a, r) && r.DecisionOf(a.Name) == nil {
		act.Approve, act.Reject = true, true
	}
	act.Cancel = r.Status == StatusPending && owner
	// A change asks for access, as a request does: the owner must still
	// hold the requester role.
	act.Change = r.Status == StatusActive && owner && a.Has(RoleRequester)
	act.Revoke = revocable(r) && (owner || a.Has(RoleAdmin))
	act.Retry = r.Status == StatusFailed && a.Has(RoleAdmin)
	return act
}

// revocable reports whether something of r may exist in IAM, so that
// revoking it has something to remove: a live role (active, or with a
// change pending, approved, being provisioned or failed), a first version
// approved or being provisioned, and any failed request (a failed first
// provisioning may have created the role before it stopped; a failed
// revocation left part of the role). Pending first versions hold nothing
// in IAM (the requester cancels them) and ended requests hold nothing
// more.
func revocable(r Request) bool {
	switch r.Status {
	case StatusActive, StatusApproved, StatusProvisioning, StatusFailed:
		return true
	case StatusPending:
		return r.LiveVersion != 0
	}
	return false
}

// Allowed returns what actor may do to r now.
func (db *DB) Allowed(a Actor, r Request) Actions { return allowed(a, r, db.rules) }

// SamePerson reports whether two user names may name one person: they
// are equal regardless of case. An identity provider may name one person
// Bob at one sign-in and bob at another (a directory login as typed, an
// email address), so the rules that keep a person from deciding on their
// own request, or deciding twice, compare names so. What a name may read
// or change compares it exactly: case never grants anything.
func SamePerson(a, b string) bool { return strings.EqualFold(a, b) }

// DecisionOf returns the decision approver made on r's current version
// (under their name in any case: SamePerson), or nil when they have not
// decided.
func (r Request) DecisionOf(approver string) *DecisionRecord {
	for i := range r.Decisions {
		if SamePerson(r.Decisions[i].Approver, approver) {
			return &r.Decisions[i]
		}
	}
	return nil
}

// Progress returns how far r's current version is from approval under the
// store's rules.
func (db *DB) Progress(r Request) Progress { return db.rules.Progress(r.Spec, r.Decisions) }

// MayView is the one rule for reading a request and everything about it
// (versions, policies, Terraform, history): its requester, approvers,
// admins, and members of a group the buckets of its current or live
// version are routed to. Anyone else sees only what the Roles page shows
// of a live role.
func (db *DB) MayView(a Actor, r Request) bool {
	// The live version's buckets count too: a change that drops a routed
	// bucket does not hide the live role, which still reaches it, from
	// that bucket's owners.
	return a.Name == r.Requester || counts(a.Roles) ||
		db.rules.routedTo(a, db.rules.accountName(r.Spec), append(specBuckets(r.Spec), r.LiveBuckets...)...)
}
