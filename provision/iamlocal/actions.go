package iamlocal

// actionTable maps each Action the endpoint answers to its handler.
func actionTable() map[string]action {
	r := func(h handler) action { return action{run: h} }
	w := func(h handler) action { return action{run: h, write: true} }
	return map[string]action{
		"CreateRole":                     w(createRole),
		"GetRole":                        r(getRole),
		"DeleteRole":                     w(deleteRole),
		"UpdateRole":                     w(updateRole),
		"UpdateAssumeRolePolicy":         w(updateAssumeRolePolicy),
		"PutRolePermissionsBoundary":     w(putRolePermissionsBoundary),
		"DeleteRolePermissionsBoundary":  w(deleteRolePermissionsBoundary),
		"TagRole":                        w(tagRole),
		"UntagRole":                      w(untagRole),
		"ListRoleTags":                   r(listRoleTags),
		"PutRolePolicy":                  w(putRolePolicy),
		"GetRolePolicy":                  r(getRolePolicy),
		"DeleteRolePolicy":               w(deleteRolePolicy),
		"ListRolePolicies":               r(listRolePolicies),
		"AttachRolePolicy":               w(attachRolePolicy),
		"DetachRolePolicy":               w(detachRolePolicy),
		"ListAttachedRolePolicies":       r(listAttachedRolePolicies),
		"CreateInstanceProfile":          w(createInstanceProfile),
		"GetInstanceProfile":             r(getInstanceProfile),
		"DeleteInstanceProfile":          w(deleteInstanceProfile),
		"AddRoleToInstanceProfile":       w(addRoleToInstanceProfile),
		"RemoveRoleFromInstanceProfile":  w(removeRoleFromInstanceProfile),
		"ListInstanceProfilesForRole":    r(listInstanceProfilesForRole),
		"TagInstanceProfile":             w(tagInstanceProfile),
		"UntagInstanceProfile":           w(untagInstanceProfile),
		"ListInstanceProfileTags":        r(listInstanceProfileTags),
		"ListRoles":                      r(listRoles),
		"ListInstanceProfiles":           r(listInstanceProfiles),
		"CreatePolicy":                   w(createPolicy),
		"GetPolicy":                      r(getPolicy),
		"DeletePolicy":                   w(deletePolicy),
		"GetPolicyVersion":               r(getPolicyVersion),
		"ListPolicyVersions":             r(listPolicyVersions),
		"GetAccountAuthorizationDetails": r(getAccountAuthorizationDetails),
		"GetCallerIdentity":              {run: getCallerIdentity, sts: true},
	}
}
