package iamlocal

import "sort"

// policyName reads and validates the PolicyName parameter.
func policyName(p params) (string, *apiError) {
	return nameParam(p, "PolicyName", "policyName", 128)
}

// inlinePolicy is the name and document of PutRolePolicy.
type inlinePolicy struct{ name, doc string }

func inlinePolicyParams(p params) (inlinePolicy, *apiError) {
	name, err := policyName(p)
	if err != nil {
		return inlinePolicy{}, err
	}
	doc, err := p.required("PolicyDocument", "policyDocument")
	if err != nil {
		return inlinePolicy{}, err
	}
	return inlinePolicy{name, doc}, checkPolicyDocument(doc, "policyDocument", identityPolicy)
}

func putRolePolicy(_ *Server, _ params, r *role, in inlinePolicy) (any, *apiError) {
	name, doc := in.name, in.doc
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

func getRolePolicy(_ *Server, _ params, r *role, name string) (any, *apiError) {
	doc, ok := r.Inline[name]
	if !ok {
		return nil, noSuchEntity("The role policy with name %s cannot be found.", name)
	}
	return getRolePolicyResult{RoleName: r.Name, PolicyName: name, PolicyDocument: percentEncode(doc)}, nil
}

func deleteRolePolicy(_ *Server, _ params, r *role, name string) (any, *apiError) {
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

func listRolePolicies(_ *Server, p params, r *role, _ struct{}) (any, *apiError) {
	names := make([]string, 0, len(r.Inline))
	for n := range r.Inline {
		names = append(names, n)
	}
	sort.Strings(names)
	members, pg, err := pageOf(p, names, same[string], same[string])
	if err != nil {
		return nil, err
	}
	return listRolePoliciesResult{PolicyNames: members, page: pg}, nil
}
