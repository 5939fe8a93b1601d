package store

import (
	"context"
	"strconv"
	"time"

	"github.com/rolegate/rolegate/provision"
)

// Assessment is what helps an approver decide on a request version: the
// access in words, the risk flags and, for a change to a live role, what
// it adds and removes and whether it grants any new access.
type Assessment struct {
	Summary provision.Summary
	Risks   []provision.Risk
	// Change is set for a version that is not the live one of a live role.
	Change *ChangeAssessment
}

// ChangeAssessment compares a change with the live version.
type ChangeAssessment struct {
	Access    provision.AccessChange
	Narrowing provision.Narrowing
}

// HasRisk reports whether the assessment carries the risk code.
func (a Assessment) HasRisk(code string) bool {
	for _, r := range a.Risks {
		if r.Code == code {
			return true
		}
	}
	return false
}

// wordsPlan is the plan of spec for its words and flags, with expiry (the
// expiry in force or asked for; nil: never) as its ExpiresAt. The expiry
// is left out of planning (as PlanOf does): a live version's may be past.
// A role kept as roleARN (Request.KeptRoleARN) is planned under the name
// and path it has there, as PlanOf plans it.
func (db *DB) wordsPlan(id int64, roleARN string, spec provision.RoleSpec, expiry *time.Time) (provision.Plan, error) {
	spec.ExpiresAt = nil
	set := db.settings.Keeping(spec.Account, spec.Name, roleARN)
	p, err := provision.NewPlan(spec, set, provision.PlanMeta{RequestID: strconv.FormatInt(id, 10)})
	if err != nil {
		return provision.Plan{}, err
	}
	p.ExpiresAt = expiry
	return p, nil
}

// shownExpiry is the expiry of r's current version: the one in force when
// it is live or keeps it, else the one it asks for (nil: never expires).
func shownExpiry(r Request) *time.Time {
	if r.ExpiresAt != nil && (r.Version == r.LiveVersion || r.KeepsExpiry) {
		return r.ExpiresAt
	}
	return r.Spec.ExpiresAt
}

// changePlans are the plans NoNewAccess and DiffAccess compare: the live
// spec with the expiry in force, and the change with the expiry it will
// have (the one in force when it keeps it); both under the name and path
// of the live role, roleARN.
func (db *DB) changePlans(id int64, roleARN string, live provision.RoleSpec, inForce *time.Time, next provision.RoleSpec, keeps bool) (provision.Plan, provision.Plan, error) {
	lp, err := db.wordsPlan(id, roleARN, live, inForce)
	if err != nil {
		return provision.Plan{}, provision.Plan{}, err
	}
	exp := next.ExpiresAt
	if keeps {
		exp = inForce
	}
	np, err := db.wordsPlan(id, roleARN, next, exp)
	return lp, np, err
}

// seesSharedBuckets reports whether viewer may be told how many other
// live roles reach a bucket (the shared-bucket flag): approvers and
// admins, who may read every request. Anyone else would learn of roles
// they may not see, so for them the flag is never raised.
func seesSharedBuckets(viewer Actor) bool {
	return viewer.Has(RoleApprover) || viewer.Has(RoleAdmin)
}

// otherLiveRolesFor is otherLiveRoles for viewer: none counted for a
// viewer who may not be told (seesSharedBuckets).
func (db *DB) otherLiveRolesFor(ctx context.Context, viewer Actor, buckets []string, ids ...int64) (map[int64]map[string]int, error) {
	if !seesSharedBuckets(viewer) {
		return map[int64]map[string]int{}, nil
	}
	return db.otherLiveRoles(ctx, buckets, ids...)
}

// AssessSpec assesses a spec not stored yet (a preview) for viewer: its
// words and risk flags. changeOf is the request whose live role the spec
// would change, or the zero Request for a new one: a change is planned
// under the IAM name and path its role keeps (Request.KeptRoleARN), and
// that role is not another role reaching its buckets. For a new request
// every live role reaching one of them counts, the requester's own
// included. A change of a live role (changeOf as GetRequest returns it)
// is assessed as RequestChange will store it: with the expiry in force
// when it keeps that (the live version's expires_at, or like it none),
// and against the live version (Assessment.Change, the widens flag).
func (db *DB) AssessSpec(ctx context.Context, viewer Actor, spec provision.RoleSpec, changeOf Request) (Assessment, error) {
	live := changeOf.LiveVersion != 0 && changeOf.Version == changeOf.LiveVersion
	keeps := KeepsExpiry(changeOf, spec)
	expiry := spec.ExpiresAt
	if keeps {
		// A role whose approver shortened (or set) its expiry keeps that
		// one: its preview said "never expires", or the time asked for.
		expiry = changeOf.ExpiresAt
	}
	p, err := db.wordsPlan(changeOf.ID, changeOf.KeptRoleARN(), spec, expiry)
	if err != nil {
		return Assessment{}, err
	}
	others, err := db.otherLiveRolesFor(ctx, viewer, specBuckets(spec), changeOf.ID)
	if err != nil {
		return Assessment{}, err
	}
	a := Assessment{Summary: provision.Describe(p)}
	rc := provision.RiskContext{Now: db.now(), OtherRoles: others[changeOf.ID]}
	if live {
		if lp, np, err := db.changePlans(changeOf.ID, changeOf.RoleARN, changeOf.Spec, changeOf.ExpiresAt, spec, keeps); err == nil {
			a.Change = &ChangeAssessment{Access: provision.DiffAccess(lp, np), Narrowing: provision.NoNewAccess(lp, np)}
			rc.Live = &lp
		}
	}
	a.Risks = provision.AssessRisks(p, db.risks, rc)
	return a, nil
}

// Assess assesses each request at its current version for viewer, with
// one query for the live versions of the changes among them and one for
// the other live roles reaching their buckets (counted only for a viewer
// who may be told: seesSharedBuckets). A request whose spec the settings
// no longer allow has no assessment (its page says why).
func (db *DB) Assess(ctx context.Context, viewer Actor, rs []Request) (map[int64]Assessment, error) {
	var changes []int64
	var buckets []string
	for _, r := range rs {
		if r.LiveVersion != 0 && r.Version != r.LiveVersion {
			changes = append(changes, r.ID)
		}
		buckets = append(buckets, specBuckets(r.Spec)...)
	}
	lives, err := db.liveSpecs(ctx, changes)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(rs))
	for _, r := range rs {
		ids = append(ids, r.ID)
	}
	others, err := db.otherLiveRolesFor(ctx, viewer, buckets, ids...)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]Assessment, len(rs))
	for _, r := range rs {
		p, err := db.wordsPlan(r.ID, r.KeptRoleARN(), r.Spec, shownExpiry(r))
		if err != nil {
			continue
		}
		a := Assessment{Summary: provision.Describe(p)}
		rc := provision.RiskContext{Now: db.now(), OtherRoles: others[r.ID]}
		if live, ok := lives[r.ID]; ok {
			if lp, np, err := db.changePlans(r.ID, r.RoleARN, live, r.ExpiresAt, r.Spec, r.KeepsExpiry); err == nil {
				a.Change = &ChangeAssessment{Access: provision.DiffAccess(lp, np), Narrowing: provision.NoNewAccess(lp, np)}
				rc.Live = &lp
			}
		}
		a.Risks = provision.AssessRisks(p, db.risks, rc)
		out[r.ID] = a
	}
	return out, nil
}
