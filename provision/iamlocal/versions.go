package iamlocal

// Customer-managed policies have exactly one version, v1, the default.
// GetPolicyVersion and ListPolicyVersions exist so that tools that read
// policies back (Terraform's aws_iam_policy) work; the documents of
// AWS-managed policies are not known here.

type xmlPolicyVersion struct {
	Document         string `xml:",omitempty"`
	VersionId        string
	IsDefaultVersion bool
	CreateDate       string
}

type policyVersionResult struct{ PolicyVersion xmlPolicyVersion }

// customerPolicy resolves PolicyArn to a customer-managed policy, or the
// NoSuchEntity (or ValidationError) IAM would answer.
func (s *Server) customerPolicy(p params) (*managedPolicy, *apiError) {
	arn, err := policyARNParam(p)
	if err != nil {
		return nil, err
	}
	mp, ok := s.st.Policies[arn]
	if !ok {
		if _, known := s.lookupPolicy(arn); known {
			return nil, noSuchEntity("The versions of AWS-managed policy %s are not available from this endpoint.", arn)
		}
		return nil, noSuchEntity("Policy %s does not exist or is not attachable.", arn)
	}
	return mp, nil
}

func getPolicyVersion(s *Server, p params) (any, *apiError) {
	mp, err := s.customerPolicy(p)
	if err != nil {
		return nil, err
	}
	version, err := p.required("VersionId", "versionId")
	if err != nil {
		return nil, err
	}
	if version != "v1" {
		return nil, noSuchEntity("Policy %s version %s does not exist or is not attachable.", p.str("PolicyArn"), version)
	}
	return policyVersionResult{xmlPolicyVersion{Document: percentEncode(mp.Document), VersionId: "v1",
		IsDefaultVersion: true, CreateDate: mp.Created.UTC().Format(isoTime)}}, nil
}

type listPolicyVersionsResult struct {
	Versions memberList[xmlPolicyVersion]
	page
}

func listPolicyVersions(s *Server, p params) (any, *apiError) {
	mp, err := s.customerPolicy(p)
	if err != nil {
		return nil, err
	}
	versions := []xmlPolicyVersion{{VersionId: "v1", IsDefaultVersion: true, CreateDate: mp.Created.UTC().Format(isoTime)}}
	items, pg, err := paginate(p, versions, func(v xmlPolicyVersion) string { return v.VersionId })
	if err != nil {
		return nil, err
	}
	out := listPolicyVersionsResult{page: pg}
	out.Versions.Member = items
	return out, nil
}
