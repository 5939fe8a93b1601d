package iamlocal

import (
	"strings"
)

// Account-wide quotas IAM applies by default.
const (
	defaultRoleQuota    = 1000
	defaultProfileQuota = 1000
	maxTrustPolicySize  = 2048
	maxInlinePolicySize = 10240
	maxAttachedPolicies = 10
	maxTagsPerEntity    = 50
)

// findRole returns the role named name (case-insensitively). A read does
// not see a role younger than the consistency delay.
func (s *Server) findRole(name string, read bool) (*role, *apiError) {
	r, ok := s.st.Roles[nameKey(name)]
	if !ok || (read && !s.visible(r.Created)) {
		return nil, noSuchEntity("The role with name %s cannot be found.", name)
	}
	return r, nil
}

// roleName reads and validates the RoleName parameter.
func roleName(p params) (string, *apiError) {
	name, err := p.required("RoleName", "roleName")
	if err != nil {
		return "", err
	}
	return name, checkName(name, "roleName", 64)
}

// optionalPath returns the Path parameter, "/" when absent.
func optionalPath(p params) (string, *apiError) {
	if !p.has("Path") {
		return "/", nil
	}
	path := p.str("Path")
	return path, checkPath(path, "path")
}

func checkTrustPolicy(doc, field string) *apiError {
	if err := checkPolicyDocument(doc, field, trustPolicy); err != nil {
		return err
	}
	if policySize(doc) > maxTrustPolicySize {
		return limitExceeded("Cannot exceed quota for ACLSizePerRole: %d", maxTrustPolicySize)
	}
	return nil
}

type roleResult struct{ Role xmlRole }

func createRole(s *Server, p params) (any, *apiError) {
	name, err := roleName(p)
	if err != nil {
		return nil, err
	}
	path, err := optionalPath(p)
	if err != nil {
		return nil, err
	}
	trust, err := p.required("AssumeRolePolicyDocument", "assumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	desc := p.str("Description")
	if err := checkDescription(desc); err != nil {
		return nil, err
	}
	maxSession, ok, err := p.intParam("MaxSessionDuration", "maxSessionDuration")
	if err != nil {
		return nil, err
	}
	if !ok {
		maxSession = 3600
	} else if err := checkMaxSessionDuration(maxSession); err != nil {
		return nil, err
	}
	tags := p.tags()
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	if err := checkTrustPolicy(trust, "assumeRolePolicyDocument"); err != nil {
		return nil, err
	}
	boundary := p.str("PermissionsBoundary")
	if p.has("PermissionsBoundary") {
		if err := s.checkBoundary(boundary); err != nil {
			return nil, err
		}
	}
	if _, exists := s.st.Roles[nameKey(name)]; exists {
		return nil, newError("EntityAlreadyExists", "Role with name %s already exists.", name)
	}
	if len(s.st.Roles) >= s.opts.RoleQuota {
		return nil, limitExceeded("Cannot exceed quota for RolesPerAccount: %d", s.opts.RoleQuota)
	}
	r := &role{
		Name: name, ID: newID(rolePrefix), Path: path, Description: desc,
		TrustPolicy: trust, MaxSessionDuration: maxSession, BoundaryARN: boundary,
		Created: s.now(), Tags: tags,
	}
	s.st.Roles[nameKey(name)] = r
	return roleResult{s.roleXML(r, true)}, nil
}

func getRole(s *Server, p params) (any, *apiError) {
	name, err := roleName(p)
	if err != nil {
		return nil, err
	}
	r, err := s.findRole(name, true)
	if err != nil {
		return nil, err
	}
	return roleResult{s.roleXML(r, true)}, nil
}

func deleteRole(s *Server, p params) (any, *apiError) {
	name, err := roleName(p)
	if err != nil {
		return nil, err
	}
	r, err := s.findRole(name, false)
	if err != nil {
		return nil, err
	}
	for _, pr := range s.st.Profiles {
		if strings.EqualFold(pr.Role, r.Name) {
			return nil, deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
		}
	}
	if len(r.Attached) > 0 {
		return nil, deleteConflict("Cannot delete entity, must detach all policies first.")
	}
	if len(r.Inline) > 0 {
		return nil, deleteConflict("Cannot delete entity, must delete policies first.")
	}
	delete(s.st.Roles, nameKey(r.Name))
	return nil, nil
}

// updateRole changes the description and/or maximum session duration; it
// answers with an empty result element, as the SDK expects.
func updateRole(s *Server, p params) (any, *apiError) {
	name, err := roleName(p)
	if err != nil {
		return nil, err
	}
	if p.has("Description") {
		if err := checkDescription(p.str("Description")); err != nil {
			return nil, err
		}
	}
	maxSession, setMax, err := p.intParam("MaxSessionDuration", "maxSessionDuration")
	if err != nil {
		return nil, err
	}
	if setMax {
		if err := checkMaxSessionDuration(maxSession); err != nil {
			return nil, err
		}
	}
	r, err := s.findRole(name, false)
	if err != nil {
		return nil, err
	}
	if p.has("Description") {
		r.Description = p.str("Description")
	}
	if setMax {
		r.MaxSessionDuration = maxSession
	}
	return struct{}{}, nil
}

func updateAssumeRolePolicy(s *Server, p params) (any, *apiError) {
	name, err := roleName(p)
	if err != nil {
		return nil, err
	}
	doc, err := p.required("PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	if err := checkTrustPolicy(doc, "policyDocument"); err != nil {
		return nil, err
	}
	r, err := s.findRole(name, false)
	if err != nil {
		return nil, err
	}
	r.TrustPolicy = doc
	return nil, nil
}

func putRolePermissionsBoundary(s *Server, p params) (any, *apiError) {
	name, err := roleName(p)
	if err != nil {
		return nil, err
	}
	arn, err := p.required("PermissionsBoundary", "permissionsBoundary")
	if err != nil {
		return nil, err
	}
	r, err := s.findRole(name, false)
	if err != nil {
		return nil, err
	}
	if err := s.checkBoundary(arn); err != nil {
		return nil, err
	}
	r.BoundaryARN = arn
	return nil, nil
}

func deleteRolePermissionsBoundary(s *Server, p params) (any, *apiError) {
	name, err := roleName(p)
	if err != nil {
		return nil, err
	}
	r, err := s.findRole(name, false)
	if err != nil {
		return nil, err
	}
	// Removing a boundary the role does not have is no error.
	r.BoundaryARN = ""
	return nil, nil
}

type listRolesResult struct {
	Roles memberList[xmlRole]
	page
}

func listRoles(s *Server, p params) (any, *apiError) {
	prefix, err := pathPrefix(p)
	if err != nil {
		return nil, err
	}
	var roles []*role
	for _, k := range sortedKeys(s.st.Roles) {
		r := s.st.Roles[k]
		if strings.HasPrefix(r.Path, prefix) && s.visible(r.Created) {
			roles = append(roles, r)
		}
	}
	items, pg, err := paginate(p, roles, func(r *role) string { return nameKey(r.Name) })
	if err != nil {
		return nil, err
	}
	out := listRolesResult{page: pg}
	for _, r := range items {
		out.Roles.Member = append(out.Roles.Member, s.roleXML(r, false))
	}
	return out, nil
}

// pathPrefix reads the optional PathPrefix of List* calls, "/" by default.
func pathPrefix(p params) (string, *apiError) {
	if !p.has("PathPrefix") {
		return "/", nil
	}
	prefix := p.str("PathPrefix")
	if err := checkLength(prefix, "pathPrefix", 1, 512); err != nil {
		return "", err
	}
	return prefix, checkPattern(prefix, "pathPrefix", pathPrefixPattern, `\u002F[\u0021-\u007F]*`)
}
