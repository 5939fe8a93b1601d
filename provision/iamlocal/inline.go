package iamlocal

import "sort"

// policyName reads and validates the PolicyName parameter.
func policyName(p params) (string, *apiError) {
	name, err := p.required("PolicyName", "policyName")
	if err != nil {
		return "", err
	}
	return name, checkName(name, "policyName", 128)
}

func putRolePolicy(s *Server, p params) (any, *apiError) {
	roleN, err := roleName(p)
	if err != nil {
		return nil, err
	}
	name, err := policyName(p)
	if err != nil {
		return nil, err
	}
	doc, err := p.required("PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	if err := checkPolicyDocument(doc, "policyDocument", identityPolicy); err != nil {
		return nil, err
	}
	r, err := s.findRole(roleN, false)
	if err != nil {
		return nil, err
	}
	// The quota is on all inline policies of the role together, the one
	// being replaced counted at its new size.
	total := policySize(doc)
	for n, d := range r.Inline {
		if n != name {
			total += policySize(d)
		}
	}
	if total > maxInlinePolicySize {
		return nil, limitExceeded("Maximum policy size of %d bytes exceeded for role %s", maxInlinePolicySize, r.Name)
	}
	if r.Inline == nil {
		r.Inline = map[string]string{}
	}
	r.Inline[name] = doc
	return nil, nil
}

type getRolePolicyResult struct {
	RoleName       string
	PolicyName     string
	PolicyDocument string
}

func getRolePolicy(s *Server, p params) (any, *apiError) {
	roleN, err := roleName(p)
	if err != nil {
		return nil, err
	}
	name, err := policyName(p)
	if err != nil {
		return nil, err
	}
	r, err := s.findRole(roleN, true)
	if err != nil {
		return nil, err
	}
	doc, ok := r.Inline[name]
	if !ok {
		return nil, noSuchEntity("The role policy with name %s cannot be found.", name)
	}
	return getRolePolicyResult{RoleName: r.Name, PolicyName: name, PolicyDocument: percentEncode(doc)}, nil
}

func deleteRolePolicy(s *Server, p params) (any, *apiError) {
	roleN, err := roleName(p)
	if err != nil {
		return nil, err
	}
	name, err := policyName(p)
	if err != nil {
		return nil, err
	}
	r, err := s.findRole(roleN, false)
	if err != nil {
		return nil, err
	}
	if _, ok := r.Inline[name]; !ok {
		return nil, noSuchEntity("The role policy with name %s cannot be found.", name)
	}
	delete(r.Inline, name)
	return nil, nil
}

type listRolePoliciesResult struct {
	PolicyNames memberList[string]
	page
}

func listRolePolicies(s *Server, p params) (any, *apiError) {
	roleN, err := roleName(p)
	if err != nil {
		return nil, err
	}
	r, err := s.findRole(roleN, true)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(r.Inline))
	for n := range r.Inline {
		names = append(names, n)
	}
	sort.Strings(names)
	items, pg, err := paginate(p, names, func(n string) string { return n })
	if err != nil {
		return nil, err
	}
	out := listRolePoliciesResult{page: pg}
	out.PolicyNames.Member = items
	if out.PolicyNames.Member == nil {
		out.PolicyNames.Member = []string{}
	}
	return out, nil
}
