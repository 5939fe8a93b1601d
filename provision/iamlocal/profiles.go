package iamlocal

import (
	"strings"
)

// findProfile returns the instance profile named name (case-insensitively).
// A read does not see a profile younger than the consistency delay.
func (s *Server) findProfile(name string, read bool) (*profile, *apiError) {
	return profileEntity.find(s, name, read)
}

func profileName(p params) (string, *apiError) { return profileEntity.name(p) }

type profileResult struct{ InstanceProfile xmlProfile }

func createInstanceProfile(s *Server, p params) (any, *apiError) {
	in, err := newEntityParams(p, profileName, "", "")
	if err != nil {
		return nil, err
	}
	tags := p.tags()
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	if err := checkRoom(s.st.Profiles, in.name, "Instance Profile %s already exists.", "InstanceProfilesPerAccount", s.opts.InstanceProfileQuota); err != nil {
		return nil, err
	}
	pr := &profile{Name: in.name, ID: newID(profilePrefix), Path: in.path, Created: s.now(), Tags: tags}
	s.st.Profiles[nameKey(in.name)] = pr
	return profileResult{s.profileXML(pr)}, nil
}

func getInstanceProfile(s *Server, _ params, pr *profile, _ struct{}) (any, *apiError) {
	return profileResult{s.profileXML(pr)}, nil
}

func deleteInstanceProfile(s *Server, _ params, pr *profile, _ struct{}) (any, *apiError) {
	if pr.Role != "" {
		return nil, deleteConflict("Cannot delete entity, must remove roles from instance profile first.")
	}
	delete(s.st.Profiles, nameKey(pr.Name))
	return nil, nil
}

// profileAndRole reads and resolves both names of the membership calls.
func (s *Server) profileAndRole(p params) (*profile, *role, *apiError) {
	pname, err := profileName(p)
	if err != nil {
		return nil, nil, err
	}
	rname, err := roleName(p)
	if err != nil {
		return nil, nil, err
	}
	pr, err := s.findProfile(pname, false)
	if err != nil {
		return nil, nil, err
	}
	r, err := s.findRole(rname, false)
	if err != nil {
		return nil, nil, err
	}
	return pr, r, nil
}

func addRoleToInstanceProfile(s *Server, p params) (any, *apiError) {
	pr, r, err := s.profileAndRole(p)
	if err != nil {
		return nil, err
	}
	if pr.Role != "" {
		// IAM says the same whether the role is this one or another.
		return nil, limitExceeded("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")
	}
	pr.Role = r.Name
	return nil, nil
}

func removeRoleFromInstanceProfile(s *Server, p params) (any, *apiError) {
	pr, r, err := s.profileAndRole(p)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(pr.Role, r.Name) {
		return nil, noSuchEntity("The role with name %s cannot be found.", r.Name)
	}
	pr.Role = ""
	return nil, nil
}

type listProfilesResult struct {
	InstanceProfiles memberList[xmlProfile]
	page
}

func (s *Server) listProfiles(p params, keep func(*profile) bool) (any, *apiError) {
	var all []*profile
	for _, k := range sortedKeys(s.st.Profiles) {
		pr := s.st.Profiles[k]
		if s.visible(pr.Created) && keep(pr) {
			all = append(all, pr)
		}
	}
	members, pg, err := pageOf(p, all, func(pr *profile) string { return nameKey(pr.Name) }, s.profileXML)
	if err != nil {
		return nil, err
	}
	return listProfilesResult{InstanceProfiles: members, page: pg}, nil
}

func listInstanceProfiles(s *Server, p params) (any, *apiError) {
	prefix, err := pathPrefix(p)
	if err != nil {
		return nil, err
	}
	return s.listProfiles(p, func(pr *profile) bool { return strings.HasPrefix(pr.Path, prefix) })
}

func listInstanceProfilesForRole(s *Server, p params, r *role, _ struct{}) (any, *apiError) {
	return s.listProfiles(p, func(pr *profile) bool { return strings.EqualFold(pr.Role, r.Name) })
}
