package iamlocal

import (
	"slices"
	"strings"
)

// GetAccountAuthorizationDetails returns the account's IAM entities in
// bulk, each with its policies: what drift checks and auditing tools read
// instead of one call per role. The endpoint has no users or groups, and it
// does not know the documents of AWS-managed policies, so the User, Group
// and AWSManagedPolicy filters give empty lists; Role and
// LocalManagedPolicy give what AWS gives.

// The entity kinds of the Filter parameter, in the order AWS lists them.
var authDetailFilters = []string{"User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"}

type xmlPolicyDetail struct {
	PolicyName     string
	PolicyDocument string
}

// xmlRoleLastUsed is empty: the endpoint does not track role use, and IAM
// sends the element empty for a role never used.
type xmlRoleLastUsed struct {
	LastUsedDate string `xml:",omitempty"`
	Region       string `xml:",omitempty"`
}

// xmlRoleDetail is a role as GetRole shows it, without the description
// and maximum session duration (RoleDetail has neither), with its
// policies and instance profiles.
type xmlRoleDetail struct {
	xmlRole
	InstanceProfileList     memberList[xmlProfile]
	RolePolicyList          memberList[xmlPolicyDetail]
	AttachedManagedPolicies memberList[xmlAttachedPolicy]
	RoleLastUsed            xmlRoleLastUsed
}

// xmlManagedPolicyDetail is a policy as GetPolicy shows it, without its
// tags, and with its versions.
type xmlManagedPolicyDetail struct {
	xmlPolicy
	PolicyVersionList memberList[xmlPolicyVersion]
}

type authDetailsResult struct {
	UserDetailList  memberList[struct{}]
	GroupDetailList memberList[struct{}]
	RoleDetailList  memberList[xmlRoleDetail]
	Policies        memberList[xmlManagedPolicyDetail]
	page
}

// authItem is one entity of the combined listing: roles first, then
// customer-managed policies, each kind in its List* order, so one Marker
// can point anywhere in it.
type authItem struct {
	key    string
	role   *role
	policy string // ARN of a customer-managed policy
}

func getAccountAuthorizationDetails(s *Server, p params) (any, *apiError) {
	want, err := authFilter(p)
	if err != nil {
		return nil, err
	}
	var all []authItem
	if want["Role"] {
		for _, k := range sortedKeys(s.st.Roles) {
			if r := s.st.Roles[k]; s.visible(r.Created) {
				all = append(all, authItem{key: "1" + k, role: r})
			}
		}
	}
	if want["LocalManagedPolicy"] {
		for _, arn := range sortedKeys(s.st.Policies) {
			all = append(all, authItem{key: "2" + arn, policy: arn})
		}
	}
	items, pg, err := paginate(p, all, func(it authItem) string { return it.key })
	if err != nil {
		return nil, err
	}
	out := authDetailsResult{page: pg}
	profilesOf := s.profilesByRole()
	for _, it := range items {
		if it.role != nil {
			out.RoleDetailList.Member = append(out.RoleDetailList.Member, s.roleDetailXML(it.role, profilesOf[nameKey(it.role.Name)]))
			continue
		}
		out.Policies.Member = append(out.Policies.Member, s.managedPolicyDetailXML(it.policy))
	}
	return out, nil
}

// authFilter reads Filter.member.N; no filter means every kind. It returns
// the ValidationError AWS gives for a kind it does not know.
func authFilter(p params) (map[string]bool, *apiError) {
	kinds := p.list("Filter")
	want := map[string]bool{}
	if len(kinds) == 0 {
		kinds = authDetailFilters
	}
	for _, k := range kinds {
		if !slices.Contains(authDetailFilters, k) {
			return nil, validationError("["+strings.Join(kinds, ", ")+"]", "filter",
				"Member must satisfy constraint: [Member must satisfy enum value set: ["+strings.Join(authDetailFilters, ", ")+"]]")
		}
		want[k] = true
	}
	return want, nil
}

// profilesByRole indexes the visible instance profiles by the lower-cased
// name of the role they hold, so a page of roles costs one pass over them.
func (s *Server) profilesByRole() map[string][]*profile {
	out := map[string][]*profile{}
	for _, k := range sortedKeys(s.st.Profiles) {
		pr := s.st.Profiles[k]
		if pr.Role != "" && s.visible(pr.Created) {
			out[nameKey(pr.Role)] = append(out[nameKey(pr.Role)], pr)
		}
	}
	return out
}

func (s *Server) roleDetailXML(r *role, profiles []*profile) xmlRoleDetail {
	x := xmlRoleDetail{xmlRole: s.roleXML(r, true)}
	x.Description, x.MaxSessionDuration = "", 0
	for _, pr := range profiles {
		x.InstanceProfileList.Member = append(x.InstanceProfileList.Member, s.profileXML(pr))
	}
	for _, name := range sortedKeys(r.Inline) {
		x.RolePolicyList.Member = append(x.RolePolicyList.Member, xmlPolicyDetail{PolicyName: name, PolicyDocument: percentEncode(r.Inline[name])})
	}
	for _, arn := range r.Attached {
		if pi, ok := s.lookupPolicy(arn); ok {
			x.AttachedManagedPolicies.Member = append(x.AttachedManagedPolicies.Member, xmlAttachedPolicy{PolicyName: pi.name, PolicyArn: pi.arn})
		}
	}
	return x
}

// managedPolicyDetailXML describes a customer-managed policy with its one
// version, v1, the default.
func (s *Server) managedPolicyDetailXML(arn string) xmlManagedPolicyDetail {
	pi, _ := s.lookupPolicy(arn)
	mp := s.st.Policies[arn]
	x := xmlManagedPolicyDetail{xmlPolicy: s.policyXML(pi)}
	x.Tags = nil
	x.PolicyVersionList.Member = []xmlPolicyVersion{{Document: percentEncode(mp.Document), VersionId: "v1", IsDefaultVersion: true, CreateDate: mp.Created.UTC().Format(isoTime)}}
	return x
}
