package provision

// ServicePolicy returns the least-privilege IAM policy (JSON) rolegate
// itself needs to apply and destroy plans under set: every action is
// limited to roles and instance profiles under set.RolePath; creation
// requires the managed-by=rolegate tag (and the boundary, when one is
// configured); changes require the tag on the resource and cannot remove
// it; attaching is limited to the allowed managed policies; only the drift
// check's two bulk reads, which IAM cannot limit, are on "*". iam:PassRole
// is included because AddRoleToInstanceProfile requires it on the role.
// It never fails: invalid settings are caught by Settings.Validate.
func ServicePolicy(set Settings) string {
	out, err := marshalPolicy(servicePolicyDocument(set))
	if err != nil {
		panic(err) // maps and strings always marshal
	}
	return out
}

// servicePolicyDocument is ServicePolicy's document, which HubPolicy
// extends.
func servicePolicyDocument(set Settings) policyDocument {
	path := set.RolePath
	if path == "" {
		path = "/"
	}
	iamARN := iamARNPrefix(set.partition(), set.AccountID)
	roles := iamARN + "role" + path + "*"
	profiles := iamARN + "instance-profile" + path + "*"
	both := []string{profiles, roles}
	tagged := map[string]map[string][]string{"StringEquals": {"aws:ResourceTag/" + TagManagedBy: {ManagedByValue}}}

	createCond := map[string]map[string][]string{"StringEquals": {"aws:RequestTag/" + TagManagedBy: {ManagedByValue}}}
	if set.PermissionsBoundaryARN != "" {
		createCond["StringEquals"]["iam:PermissionsBoundary"] = []string{set.PermissionsBoundaryARN}
	}
	doc := policyDocument{Version: policyVersion, Statement: []statement{
		{Sid: "ReadRolesAndProfiles", Effect: "Allow", Action: []string{
			"iam:GetInstanceProfile", "iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies",
			"iam:ListInstanceProfilesForRole", "iam:ListRolePolicies", "iam:ListRoleTags",
		}, Resource: both},
		// The drift check's bulk reads: neither action can be limited
		// to a path (IAM authorizes them on "*"), and both only read.
		{Sid: "ReadRolesInBulk", Effect: "Allow", Action: []string{"iam:GetAccountAuthorizationDetails", "iam:ListRoles"}, Resource: []string{"*"}},
		{Sid: "CreateTaggedRole", Effect: "Allow", Action: []string{"iam:CreateRole"}, Resource: []string{roles}, Condition: createCond},
		{Sid: "CreateTaggedProfile", Effect: "Allow", Action: []string{"iam:CreateInstanceProfile"}, Resource: []string{profiles},
			Condition: map[string]map[string][]string{"StringEquals": {"aws:RequestTag/" + TagManagedBy: {ManagedByValue}}}},
		{Sid: "TagOnCreate", Effect: "Allow", Action: []string{"iam:TagInstanceProfile", "iam:TagRole"}, Resource: both,
			Condition: map[string]map[string][]string{"StringEquals": {"aws:RequestTag/" + TagManagedBy: {ManagedByValue}}}},
		{Sid: "ChangeOwnRoles", Effect: "Allow", Action: []string{
			"iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:PutRolePolicy",
			"iam:TagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
		}, Resource: []string{roles}, Condition: tagged},
		{Sid: "ChangeOwnProfiles", Effect: "Allow", Action: []string{
			"iam:AddRoleToInstanceProfile", "iam:DeleteInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:TagInstanceProfile",
		}, Resource: []string{profiles}, Condition: tagged},
		{Sid: "UntagOwnButKeepOwnership", Effect: "Allow", Action: []string{"iam:UntagInstanceProfile", "iam:UntagRole"}, Resource: both,
			Condition: map[string]map[string][]string{
				"StringEquals":               {"aws:ResourceTag/" + TagManagedBy: {ManagedByValue}},
				"ForAllValues:StringNotLike": {"aws:TagKeys": {TagManagedBy, "rolegate:*"}},
			}},
		{Sid: "PassOwnRolesToProfiles", Effect: "Allow", Action: []string{"iam:PassRole"}, Resource: []string{roles}},
	}}
	if allowed := set.allowedPolicyARNs(); len(allowed) > 0 {
		doc.Statement = append(doc.Statement, statement{Sid: "AttachAllowedManagedPolicies", Effect: "Allow",
			Action: []string{"iam:AttachRolePolicy"}, Resource: []string{roles},
			Condition: map[string]map[string][]string{"ArnEquals": {"iam:PolicyARN": allowed}, "StringEquals": {"aws:ResourceTag/" + TagManagedBy: {ManagedByValue}}}})
	}
	if set.PermissionsBoundaryARN != "" {
		doc.Statement = append(doc.Statement, statement{Sid: "PutConfiguredBoundary", Effect: "Allow",
			Action: []string{"iam:PutRolePermissionsBoundary"}, Resource: []string{roles},
			Condition: map[string]map[string][]string{"StringEquals": {
				"aws:ResourceTag/" + TagManagedBy: {ManagedByValue}, "iam:PermissionsBoundary": {set.PermissionsBoundaryARN}}}})
	} else {
		doc.Statement = append(doc.Statement, statement{Sid: "RemoveUnplannedBoundary", Effect: "Allow",
			Action: []string{"iam:DeleteRolePermissionsBoundary"}, Resource: []string{roles}, Condition: tagged})
	}
	return doc
}
