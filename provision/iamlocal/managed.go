package iamlocal

import (
	"crypto/sha256"
	"slices"
	"sort"
	"strings"
	"time"
)

const maxManagedPolicySize = 6144

// awsManagedPolicies are the AWS-managed policies the endpoint knows, as
// path-without-leading-slash plus name; their ARNs are
// arn:aws:iam::aws:policy/<entry>.
var awsManagedPolicies = []string{
	"AdministratorAccess",
	"AmazonEC2ContainerRegistryReadOnly",
	"AmazonEC2ReadOnlyAccess",
	"AmazonS3FullAccess",
	"AmazonS3ReadOnlyAccess",
	"AmazonSSMManagedInstanceCore",
	"AmazonSSMReadOnlyAccess",
	"CloudWatchAgentAdminPolicy",
	"CloudWatchAgentServerPolicy",
	"PowerUserAccess",
	"ReadOnlyAccess",
	"job-function/ViewOnlyAccess",
	"service-role/AmazonEC2RoleforSSM",
}

// awsManagedCreated is the creation date reported for AWS-managed policies.
var awsManagedCreated = time.Date(2015, 2, 6, 18, 39, 46, 0, time.UTC)

const awsPolicyARNPrefix = "arn:aws:iam::aws:policy/"

// policyInfo describes a managed policy of either kind as GetPolicy and
// ListAttachedRolePolicies show it.
type policyInfo struct {
	arn, name, path, id, description string
	created                          time.Time
	tags                             []tag
	awsManaged                       bool
}

// lookupPolicy returns the managed policy with the ARN; ok is false when
// neither AWS nor the account has it.
func (s *Server) lookupPolicy(arn string) (policyInfo, bool) {
	if rest, found := strings.CutPrefix(arn, awsPolicyARNPrefix); found && slices.Contains(awsManagedPolicies, rest) {
		path, name := "/", rest
		if i := strings.LastIndex(rest, "/"); i >= 0 {
			path, name = "/"+rest[:i+1], rest[i+1:]
		}
		sum := sha256.Sum256([]byte(arn))
		id := policyPrefix
		for _, b := range sum[:17] {
			id += string("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[int(b)%36])
		}
		return policyInfo{arn: arn, name: name, path: path, id: id, created: awsManagedCreated, awsManaged: true}, true
	}
	mp, ok := s.st.Policies[arn]
	if !ok {
		return policyInfo{}, false
	}
	return policyInfo{arn: arn, name: mp.Name, path: mp.Path, id: mp.ID, description: mp.Description,
		created: mp.Created, tags: mp.Tags}, true
}

// checkBoundary answers whether arn may be used as a permissions boundary.
func (s *Server) checkBoundary(arn string) *apiError {
	if err := checkPolicyARN(arn, "permissionsBoundary"); err != nil {
		return err
	}
	if _, ok := s.lookupPolicy(arn); !ok {
		return noSuchEntity("Scope ARN: %s does not exist or is not attachable.", arn)
	}
	return nil
}

// usage counts the roles that attach the policy and that use it as their
// permissions boundary.
func (s *Server) usage(arn string) (attached, boundary int) {
	for _, r := range s.st.Roles {
		if slices.Contains(r.Attached, arn) {
			attached++
		}
		if r.BoundaryARN == arn {
			boundary++
		}
	}
	return attached, boundary
}

type policyResult struct{ Policy xmlPolicy }

func (s *Server) policyXML(pi policyInfo) xmlPolicy {
	attached, boundary := s.usage(pi.arn)
	return xmlPolicy{
		PolicyName: pi.name, PolicyId: pi.id, Arn: pi.arn, Path: pi.path, DefaultVersionId: "v1",
		AttachmentCount: attached, PermissionsBoundaryUsageCount: boundary, IsAttachable: true,
		Description: pi.description, CreateDate: pi.created.Format(isoTime), UpdateDate: pi.created.Format(isoTime),
		Tags: tagsXML(pi.tags),
	}
}

func createPolicy(s *Server, p params) (any, *apiError) {
	in, err := newEntityParams(p, policyName, "PolicyDocument", "policyDocument")
	if err != nil {
		return nil, err
	}
	name, path, doc := in.name, in.path, in.doc
	tags := p.tags()
	if err := checkTags(tags); err != nil {
		return nil, err
	}
	if err := checkPolicyDocument(doc, "policyDocument", identityPolicy); err != nil {
		return nil, err
	}
	if policySize(doc) > maxManagedPolicySize {
		return nil, limitExceeded("Cannot exceed quota for PolicySize: %d", maxManagedPolicySize)
	}
	for _, mp := range s.st.Policies {
		if strings.EqualFold(mp.Name, name) {
			return nil, newError("EntityAlreadyExists", "A policy called %s already exists. Duplicate names are not allowed.", name)
		}
	}
	mp := &managedPolicy{Name: name, ID: newID(policyPrefix), Path: path, Description: in.description,
		Document: doc, Created: s.now(), Tags: tags}
	arn := s.policyARN(path, name)
	s.st.Policies[arn] = mp
	pi, _ := s.lookupPolicy(arn)
	return policyResult{s.policyXML(pi)}, nil
}

func policyARNParam(p params) (string, *apiError) {
	arn, err := p.required("PolicyArn", "policyArn")
	if err != nil {
		return "", err
	}
	return arn, checkPolicyARN(arn, "policyArn")
}

// findPolicy returns the managed policy with the ARN, or IAM's
// NoSuchEntity.
func (s *Server) findPolicy(arn string) (policyInfo, *apiError) {
	pi, ok := s.lookupPolicy(arn)
	if !ok {
		return policyInfo{}, noSuchEntity("Policy %s does not exist or is not attachable.", arn)
	}
	return pi, nil
}

// policyParam reads PolicyArn and finds the managed policy.
func (s *Server) policyParam(p params) (policyInfo, *apiError) {
	arn, err := policyARNParam(p)
	if err != nil {
		return policyInfo{}, err
	}
	return s.findPolicy(arn)
}

func getPolicy(s *Server, p params) (any, *apiError) {
	pi, err := s.policyParam(p)
	if err != nil {
		return nil, err
	}
	return policyResult{s.policyXML(pi)}, nil
}

func deletePolicy(s *Server, p params) (any, *apiError) {
	pi, err := s.policyParam(p)
	if err != nil {
		return nil, err
	}
	arn := pi.arn
	if pi.awsManaged {
		return nil, newError("UnmodifiableEntity", "Cannot delete policies outside your own account.")
	}
	if attached, boundary := s.usage(arn); attached > 0 || boundary > 0 {
		return nil, deleteConflict("Cannot delete a policy attached to entities.")
	}
	delete(s.st.Policies, arn)
	return nil, nil
}

func attachRolePolicy(s *Server, _ params, r *role, arn string) (any, *apiError) {
	if _, err := s.findPolicy(arn); err != nil {
		return nil, err
	}
	if slices.Contains(r.Attached, arn) {
		return nil, nil
	}
	if len(r.Attached) >= maxAttachedPolicies {
		return nil, limitExceeded("Cannot exceed quota for PoliciesPerRole: %d", maxAttachedPolicies)
	}
	r.Attached = append(r.Attached, arn)
	return nil, nil
}

func detachRolePolicy(_ *Server, _ params, r *role, arn string) (any, *apiError) {
	i := slices.Index(r.Attached, arn)
	if i < 0 {
		return nil, noSuchEntity("Policy %s was not found.", arn)
	}
	r.Attached = slices.Delete(r.Attached, i, i+1)
	return nil, nil
}

type listAttachedRolePoliciesResult struct {
	AttachedPolicies memberList[xmlAttachedPolicy]
	page
}

func listAttachedRolePolicies(s *Server, p params, r *role, prefix string) (any, *apiError) {
	var all []policyInfo
	for _, arn := range r.Attached {
		if pi, ok := s.lookupPolicy(arn); ok && strings.HasPrefix(pi.path, prefix) {
			all = append(all, pi)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].arn < all[j].arn })
	members, pg, err := pageOf(p, all, func(pi policyInfo) string { return pi.arn },
		func(pi policyInfo) xmlAttachedPolicy {
			return xmlAttachedPolicy{PolicyName: pi.name, PolicyArn: pi.arn}
		})
	if err != nil {
		return nil, err
	}
	return listAttachedRolePoliciesResult{AttachedPolicies: members, page: pg}, nil
}
