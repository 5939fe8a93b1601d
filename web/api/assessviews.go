package api

import (
	"context"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// SummaryView is a version's access in words (provision.Describe).
type SummaryView struct {
	Text            string   `json:"text"`
	Short           string   `json:"short"`
	Access          []string `json:"access"`
	ManagedPolicies []string `json:"managed_policies"`
	Session         string   `json:"session"`
	Expiry          string   `json:"expiry"`
	Trust           string   `json:"trust"`
}

// ChangeView is what a change does to the live role, in words, and
// whether it grants no new access (with the reasons).
type ChangeView struct {
	Adds        []string `json:"adds"`
	Narrows     []string `json:"narrows"`
	Removes     []string `json:"removes"`
	Text        string   `json:"text"`
	NoNewAccess bool     `json:"no_new_access"`
	Reasons     []string `json:"reasons"`
}

// ReuseView is a live role of the requester that already grants all of a
// request (as far as the caller may see).
type ReuseView struct {
	RequestID int64  `json:"request_id"`
	RoleName  string `json:"role_name"`
	Owner     string `json:"owner"`
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func summaryView(s provision.Summary) *SummaryView {
	return &SummaryView{Text: s.Text(), Short: s.Short(), Access: orEmpty(s.Access), ManagedPolicies: orEmpty(s.Managed),
		Session: s.Session, Expiry: s.Expiry, Trust: s.Trust}
}

func risksView(rs []provision.Risk) []provision.Risk {
	if rs == nil {
		return []provision.Risk{}
	}
	return rs
}

// assessFields fills the summary, risks and change of v from a; a
// request the settings no longer allow has no assessment, and no summary.
func (v *RequestView) assessFields(a store.Assessment, ok bool) {
	v.Risks = risksView(a.Risks)
	if !ok {
		return
	}
	v.Summary = summaryView(a.Summary)
	if c := a.Change; c != nil {
		v.Change = &ChangeView{Adds: orEmpty(c.Access.Adds), Narrows: orEmpty(c.Access.Narrows), Removes: orEmpty(c.Access.Removes), Text: c.Access.Text(),
			NoNewAccess: c.Narrowing.NoNewAccess, Reasons: orEmpty(c.Narrowing.Reasons)}
	}
}

// reuseViews lists the live roles of r's requester that already grant
// everything r asks, as far as actor may see them (store.ReusableRoles).
func reuseViews(ctx context.Context, st Store, actor store.Actor, requester, account string, scopes []provision.BucketScope, except int64) ([]ReuseView, error) {
	rs, err := st.ReusableRoles(ctx, actor, requester, account, scopes, except)
	if err != nil {
		return nil, err
	}
	out := []ReuseView{}
	for _, r := range rs {
		out = append(out, ReuseView{RequestID: r.RequestID, RoleName: r.RoleName, Owner: r.Owner})
	}
	return out, nil
}
