package iamlocal

// actionTable maps each Action the endpoint answers to its handler.
func actionTable() map[string]action {
	r := func(h handler) action { return action{run: h} }
	w := func(h handler) action { return action{run: h, write: true} }
	const read, write = false, true
	return map[string]action{
		"CreateRole":                     w(createRole),
		"GetRole":                        on(roleEntity, read, noParams, getRole),
		"DeleteRole":                     on(roleEntity, write, noParams, deleteRole),
		"UpdateRole":                     on(roleEntity, write, updateRoleParams, updateRole),
		"UpdateAssumeRolePolicy":         on(roleEntity, write, trustPolicyParam, updateAssumeRolePolicy),
		"PutRolePermissionsBoundary":     on(roleEntity, write, boundaryParam, putRolePermissionsBoundary),
		"DeleteRolePermissionsBoundary":  on(roleEntity, write, noParams, deleteRolePermissionsBoundary),
		"TagRole":                        on(roleEntity, write, requestTags, roleEntity.tag),
		"UntagRole":                      on(roleEntity, write, requestTagKeys, roleEntity.untag),
		"ListRoleTags":                   on(roleEntity, read, noParams, roleEntity.listTags),
		"PutRolePolicy":                  on(roleEntity, write, inlinePolicyParams, putRolePolicy),
		"GetRolePolicy":                  on(roleEntity, read, policyName, getRolePolicy),
		"DeleteRolePolicy":               on(roleEntity, write, policyName, deleteRolePolicy),
		"ListRolePolicies":               on(roleEntity, read, noParams, listRolePolicies),
		"AttachRolePolicy":               on(roleEntity, write, policyARNParam, attachRolePolicy),
		"DetachRolePolicy":               on(roleEntity, write, policyARNParam, detachRolePolicy),
		"ListAttachedRolePolicies":       on(roleEntity, read, pathPrefix, listAttachedRolePolicies),
		"CreateInstanceProfile":          w(createInstanceProfile),
		"GetInstanceProfile":             on(profileEntity, read, noParams, getInstanceProfile),
		"DeleteInstanceProfile":          on(profileEntity, write, noParams, deleteInstanceProfile),
		"AddRoleToInstanceProfile":       w(addRoleToInstanceProfile),
		"RemoveRoleFromInstanceProfile":  w(removeRoleFromInstanceProfile),
		"ListInstanceProfilesForRole":    on(roleEntity, read, noParams, listInstanceProfilesForRole),
		"TagInstanceProfile":             on(profileEntity, write, requestTags, profileEntity.tag),
		"UntagInstanceProfile":           on(profileEntity, write, requestTagKeys, profileEntity.untag),
		"ListInstanceProfileTags":        on(profileEntity, read, noParams, profileEntity.listTags),
		"ListRoles":                      r(listRoles),
		"ListInstanceProfiles":           r(listInstanceProfiles),
		"CreatePolicy":                   w(createPolicy),
		"GetPolicy":                      r(getPolicy),
		"DeletePolicy":                   w(deletePolicy),
		"GetPolicyVersion":               r(getPolicyVersion),
		"ListPolicyVersions":             r(listPolicyVersions),
		"GetAccountAuthorizationDetails": r(getAccountAuthorizationDetails),
		"GetCallerIdentity":              {run: getCallerIdentity, sts: true},
		"AssumeRole":                     {run: assumeRole, sts: true},
	}
}
