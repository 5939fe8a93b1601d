package api

import (
	"encoding/json"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// The JSON shapes of the API. Each mirrors a schema of openapi/schemas.yaml; the
// contract test validates every response against it.

// RequestView is one request as the API shows it.
type RequestView struct {
	ID           int64        `json:"id"`
	Status       store.Status `json:"status"`
	StatusReason string       `json:"status_reason,omitempty"`
	Version      int          `json:"version"`
	LiveVersion  int          `json:"live_version,omitempty"`
	Requester    string       `json:"requester"`
	// Account is the name of the account the role lives in.
	Account            string             `json:"account"`
	Spec               provision.RoleSpec `json:"spec"`
	Justification      string             `json:"justification"`
	RoleARN            string             `json:"role_arn,omitempty"`
	InstanceProfileARN string             `json:"instance_profile_arn,omitempty"`
	ExpiresAt          *time.Time         `json:"expires_at,omitempty"`
	ActivatedAt        *time.Time         `json:"activated_at,omitempty"`
	Drifted            bool               `json:"drifted"`
	CreatedAt          time.Time          `json:"created_at"`
	UpdatedAt          time.Time          `json:"updated_at"`
	// Actions are what the caller may do to the request now.
	Actions []string `json:"actions"`
	// Approvals is the current version's approval progress.
	Approvals ApprovalsView `json:"approvals"`
	// Summary is the current version's access in words; absent when the
	// settings no longer allow its spec.
	Summary *SummaryView     `json:"summary,omitempty"`
	Risks   []provision.Risk `json:"risks"`
	// Change is set while the current version is a change to a live role.
	Change *ChangeView `json:"change,omitempty"`
}

// ApprovalsView is store.Progress: the approvals the count needs and
// has, and each routed group with whether one of its members approved.
type ApprovalsView struct {
	Required int             `json:"required"`
	Given    int             `json:"given"`
	Complete bool            `json:"complete"`
	Summary  string          `json:"summary"`
	Groups   []GroupProgress `json:"groups"`
}

// GroupProgress is one routed group and whether it has approved.
type GroupProgress struct {
	Group     string `json:"group"`
	Satisfied bool   `json:"satisfied"`
}

func approvalsView(p store.Progress) ApprovalsView {
	v := ApprovalsView{Required: p.Required, Given: p.Given, Complete: p.Complete(), Summary: p.String(),
		Groups: []GroupProgress{}}
	for _, g := range p.Groups {
		v.Groups = append(v.Groups, GroupProgress{Group: g.Group, Satisfied: g.Satisfied})
	}
	return v
}

// RoleView is what anyone signed in sees of an active role, as on the
// Roles page: who owns it and its ARNs, never its spec or justification
// (those follow the request's read rule, GET /requests/{id}).
type RoleView struct {
	ID                 int64      `json:"id"`
	RoleName           string     `json:"role_name"`
	Account            string     `json:"account"`
	Requester          string     `json:"requester"`
	RoleARN            string     `json:"role_arn,omitempty"`
	InstanceProfileARN string     `json:"instance_profile_arn,omitempty"`
	ExpiresAt          *time.Time `json:"expires_at,omitempty"`
	Drifted            bool       `json:"drifted"`
}

// RolePage is one page of active roles and the cursor of the next.
type RolePage struct {
	Items      []RoleView `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

func roleView(r store.Request) RoleView {
	return RoleView{ID: r.ID, RoleName: r.Spec.Name, Account: r.Spec.Account, Requester: r.Requester, RoleARN: r.RoleARN,
		InstanceProfileARN: r.InstanceProfileARN, ExpiresAt: r.ExpiresAt, Drifted: r.Drifted}
}

// RequestDetail is the single-request view: the request with the
// decisions on its current version, every version, the plan of the
// current one and the history.
type RequestDetail struct {
	RequestView
	Decisions []DecisionView `json:"decisions"`
	Versions  []VersionView  `json:"versions"`
	Plan      *PlanView      `json:"plan,omitempty"`
	History   []EventView    `json:"history"`
	// Reuse lists the requester's live roles that already grant all of
	// the current version, among those the caller may read.
	Reuse []ReuseView `json:"reuse"`
}

// DecisionView is one approver's decision on a version.
type DecisionView struct {
	Approver  string    `json:"approver"`
	Decision  string    `json:"decision"`
	Comment   string    `json:"comment"`
	CreatedAt time.Time `json:"created_at"`
	// Rule names the rule that approved (no-new-access); absent for people.
	Rule string `json:"rule,omitempty"`
}

// VersionView is one version of a request's spec.
type VersionView struct {
	Number          int                `json:"number"`
	Spec            provision.RoleSpec `json:"spec"`
	Justification   string             `json:"justification"`
	CreatedBy       string             `json:"created_by"`
	CreatedAt       time.Time          `json:"created_at"`
	ApprovedAt      *time.Time         `json:"approved_at,omitempty"`
	Decisions       []DecisionView     `json:"decisions"`
	TerraformSHA256 string             `json:"terraform_sha256,omitempty"`
}

// PlanView is the IAM plan of a version: names, ARNs and policy JSON.
type PlanView struct {
	RoleName           string          `json:"role_name"`
	Account            string          `json:"account,omitempty"`
	RoleARN            string          `json:"role_arn"`
	InstanceProfileARN string          `json:"instance_profile_arn"`
	TrustPolicy        json.RawMessage `json:"trust_policy"`
	PolicyName         string          `json:"policy_name"`
	PermissionsPolicy  json.RawMessage `json:"permissions_policy"`
	ManagedPolicies    []string        `json:"managed_policies"`
}

// EventView is one audit event.
type EventView struct {
	ID        int64          `json:"id"`
	RequestID int64          `json:"request_id,omitempty"`
	Version   int            `json:"version,omitempty"`
	Actor     string         `json:"actor"`
	Kind      string         `json:"kind"`
	Data      map[string]any `json:"data"`
	CreatedAt time.Time      `json:"created_at"`
	// Account is the account of the event's request, when it has one.
	Account string `json:"account,omitempty"`
}

// RequestPage is one page of requests and the cursor of the next.
type RequestPage struct {
	Items      []RequestView `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// EventPage is one page of audit events and the cursor of the next.
type EventPage struct {
	Items []EventView `json:"items"`
	// NextAfter continues the listing (?after=); absent on the last page.
	NextAfter int64 `json:"next_after,omitempty"`
}

// PreviewView is the plan and Terraform a spec would give.
type PreviewView struct {
	Plan      PlanView `json:"plan"`
	Terraform string   `json:"terraform"`
	// Approvals is what the request will need, in numbers and in words.
	Approvals ApprovalsView    `json:"approvals"`
	Summary   *SummaryView     `json:"summary"`
	Risks     []provision.Risk `json:"risks"`
	// Reuse lists the caller's live roles that already grant all of it.
	Reuse []ReuseView `json:"reuse"`
	// NameTaken, when another pending or live request in the account
	// holds the role name, or another request's role (live, approved or
	// being provisioned) created under an earlier name prefix has the new
	// role's name in IAM, says so in the form's words;
	// "" otherwise.
	NameTaken string `json:"name_taken,omitempty"`
}

// MeView is who a token acts for (GET /api/v1/me).
type MeView struct {
	Name   string       `json:"name"`
	Roles  []store.Role `json:"roles"`
	Groups []string     `json:"groups"`
	Token  TokenView    `json:"token"`
}

// TokenView is the calling token, without its secret.
type TokenView struct {
	ID         int64      `json:"id"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

func actionNames(a store.Actions) []string {
	out := []string{}
	for _, x := range []struct {
		ok   bool
		name string
	}{{a.Approve, "approve"}, {a.Reject, "reject"}, {a.Cancel, "cancel"}, {a.Change, "change"},
		{a.Revoke, "revoke"}, {a.Retry, "retry"}} {
		if x.ok {
			out = append(out, x.name)
		}
	}
	return out
}

func requestView(st Store, actor store.Actor, r store.Request, as map[int64]store.Assessment) RequestView {
	a, ok := as[r.ID]
	v := RequestView{
		ID: r.ID, Status: r.Status, StatusReason: r.StatusReason, Version: r.Version, LiveVersion: r.LiveVersion,
		Requester: r.Requester, Account: r.Spec.Account, Spec: r.Spec, Justification: r.Justification, RoleARN: r.RoleARN,
		InstanceProfileARN: r.InstanceProfileARN, ExpiresAt: r.ExpiresAt, ActivatedAt: r.ActivatedAt,
		Drifted: r.Drifted, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Actions: actionNames(st.Allowed(actor, r)), Approvals: approvalsView(st.Progress(r)),
	}
	v.assessFields(a, ok)
	return v
}

func decisionViews(ds []store.DecisionRecord) []DecisionView {
	out := []DecisionView{}
	for _, d := range ds {
		verdict := "reject"
		if d.Approve {
			verdict = "approve"
		}
		out = append(out, DecisionView{Approver: d.Approver, Decision: verdict, Comment: d.Comment, CreatedAt: d.CreatedAt, Rule: d.Rule})
	}
	return out
}

func versionView(v store.Version) VersionView {
	return VersionView{Number: v.Number, Spec: v.Spec, Justification: v.Justification, CreatedBy: v.CreatedBy,
		CreatedAt: v.CreatedAt, ApprovedAt: v.ApprovedAt, Decisions: decisionViews(v.Decisions), TerraformSHA256: v.TerraformSHA256}
}

func eventView(e store.Event) EventView {
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	return EventView{ID: e.ID, RequestID: e.RequestID, Version: e.Version, Actor: e.Actor, Kind: e.Kind, Data: data, CreatedAt: e.CreatedAt, Account: e.Account}
}

// planView renders the policies of a plan as JSON objects, not strings.
func planView(p provision.Plan) PlanView {
	managed := p.ManagedPolicies
	if managed == nil {
		managed = []string{}
	}
	return PlanView{
		RoleName: p.Role.Name, Account: p.Account.Name, RoleARN: p.RoleARN(), InstanceProfileARN: p.InstanceProfileARN(),
		TrustPolicy: json.RawMessage(p.Role.TrustPolicy), PolicyName: p.Policy.Name,
		PermissionsPolicy: json.RawMessage(p.Policy.Document), ManagedPolicies: managed,
	}
}

// currentPlan is the plan of r's current version (store.PlanOf) under
// today's settings; nil when the spec no longer passes them (the view
// still shows the rest).
func currentPlan(st Store, r store.Request, versions []store.Version) *PlanView {
	for _, ver := range versions {
		if ver.Number != r.Version {
			continue
		}
		p, err := store.PlanOf(store.WorkOf(r, ver), st.Settings())
		if err != nil {
			return nil
		}
		v := planView(p)
		return &v
	}
	return nil
}
