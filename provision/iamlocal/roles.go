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
	return roleEntity.find(s, name, read)
}

// roleName reads and validates the RoleName parameter.
func roleName(p params) (string, *apiError) { return roleEntity.name(p) }

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
	in, err := newEntityParams(p, roleName, "AssumeRolePolicyDocument", "assumeRolePolicyDocument")
	if err != nil {
		return nil, err
	}
	maxSession, ok, err := p.intParam("MaxSessionDuration", "maxSessionDuration")
	if err != nil {
		return nil, err
	}
	if !ok {
		maxSession = defaultMaxSession
	} else if err := checkMaxSessionDuration(maxSession); err != nil {
		return nil, err
	}
	tags := p.tags()
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	if err := checkTrustPolicy(in.doc, "assumeRolePolicyDocument"); err != nil {
		return nil, err
	}
	boundary := p.str("PermissionsBoundary")
	if p.has("PermissionsBoundary") {
		if err := s.checkBoundary(boundary); err != nil {
			return nil, err
		}
	}
	if err := checkRoom(s.st.Roles, in.name, "Role with name %s already exists.", "RolesPerAccount", s.opts.RoleQuota); err != nil {
		return nil, err
	}
	r := &role{
		Name: in.name, ID: newID(rolePrefix), Path: in.path, Description: in.description,
		TrustPolicy: in.doc, MaxSessionDuration: maxSession, BoundaryARN: boundary,
		Created: s.now(), Tags: tags,
	}
	s.st.Roles[nameKey(in.name)] = r
	return roleResult{s.roleXML(r, true)}, nil
}

func getRole(s *Server, _ params, r *role, _ struct{}) (any, *apiError) {
	return roleResult{s.roleXML(r, true)}, nil
}

func deleteRole(s *Server, _ params, r *role, _ struct{}) (any, *apiError) {
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

// roleUpdate is what UpdateRole changes: each part only when asked.
type roleUpdate struct {
	description *string
	maxSession  *int
}

// updateRoleParams checks the optional Description and MaxSessionDuration.
func updateRoleParams(p params) (u roleUpdate, err *apiError) {
	if p.has("Description") {
		desc := p.str("Description")
		if err := checkDescription(desc); err != nil {
			return u, err
		}
		u.description = &desc
	}
	maxSession, setMax, err := p.intParam("MaxSessionDuration", "maxSessionDuration")
	if err != nil {
		return u, err
	}
	if setMax {
		if err := checkMaxSessionDuration(maxSession); err != nil {
			return u, err
		}
		u.maxSession = &maxSession
	}
	return u, nil
}

// updateRole changes the description and/or maximum session duration; it
// answers with an empty result element, as the SDK expects.
func updateRole(_ *Server, _ params, r *role, u roleUpdate) (any, *apiError) {
	if u.description != nil {
		r.Description = *u.description
	}
	if u.maxSession != nil {
		r.MaxSessionDuration = *u.maxSession
	}
	return struct{}{}, nil
}

// trustPolicyParam reads and checks the PolicyDocument of
// UpdateAssumeRolePolicy.
func trustPolicyParam(p params) (string, *apiError) {
	doc, err := p.required("PolicyDocument", "policyDocument")
	if err != nil {
		return "", err
	}
	return doc, checkTrustPolicy(doc, "policyDocument")
}

func updateAssumeRolePolicy(_ *Server, _ params, r *role, doc string) (any, *apiError) {
	r.TrustPolicy = doc
	return nil, nil
}

func boundaryParam(p params) (string, *apiError) {
	return p.required("PermissionsBoundary", "permissionsBoundary")
}

func putRolePermissionsBoundary(s *Server, _ params, r *role, arn string) (any, *apiError) {
	if err := s.checkBoundary(arn); err != nil {
		return nil, err
	}
	r.BoundaryARN = arn
	return nil, nil
}

func deleteRolePermissionsBoundary(_ *Server, _ params, r *role, _ struct{}) (any, *apiError) {
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
	members, pg, err := pageOf(p, roles, func(r *role) string { return nameKey(r.Name) },
		func(r *role) xmlRole { return s.roleXML(r, false) })
	if err != nil {
		return nil, err
	}
	return listRolesResult{Roles: members, page: pg}, nil
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
