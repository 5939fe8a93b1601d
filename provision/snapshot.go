package provision

import (
	"context"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// Snapshot is the IAM state of every role rolegate manages (those tagged
// managed-by=rolegate), read in bulk by ReadSnapshot: a drift check over
// thousands of roles then costs a few dozen IAM calls instead of six a
// role. Roles without rolegate's tag are not kept, so they are never
// compared, let alone changed. Those of every rolegate installation in
// the account are kept: the dry run of a plan (DryRunFrom) checks the
// request's and the installation's tags, and refuses another's role as
// it refuses any role that is not the plan's.
type Snapshot struct {
	roles map[string]*roleState // by lower-cased name: IAM names ignore case
	// Calls is the number of IAM calls the read made.
	Calls int
}

// roleState is one role as the bulk read saw it, kept compact (at 10,000
// roles the snapshot is the drift check's largest allocation) and handed to
// the dry run in the shapes the per-role reads return, so that it is
// compared by the same code.
type roleState struct {
	name, id, arn, path string
	trust               string // compactDocument
	boundary            string // ARN, "" for none
	description         string
	maxSession          int32
	listed              bool // ListRoles gave its description and maximum session
	tags                []Tag
	inline              []inlineState // sorted by name
	attached            []string      // managed policy ARNs
	profiles            []profileState
}

type inlineState struct{ name, document string }

// profileState is an instance profile holding the role; of the roles it
// holds only the names are compared.
type profileState struct {
	name, id, arn, path string
	roles               []string
	tags                []Tag
}

// ReadSnapshot reads every role of the account with its inline and managed
// policies, tags, boundary and instance profiles
// (GetAccountAuthorizationDetails, filter Role), and the description and
// maximum session duration that call leaves out (ListRoles), 1,000 roles a
// page each (SnapshotPageSize). It returns the first error of a call (see IsRetryable).
func (r *Reconciler) ReadSnapshot(ctx context.Context) (*Snapshot, error) {
	s := &Snapshot{roles: map[string]*roleState{}}
	details := iam.NewGetAccountAuthorizationDetailsPaginator(r.client, &iam.GetAccountAuthorizationDetailsInput{
		Filter: []types.EntityType{types.EntityTypeRole}, MaxItems: aws.Int32(r.opts.SnapshotPageSize)})
	calls, err := eachPage(ctx, "GetAccountAuthorizationDetails", details, func(page *iam.GetAccountAuthorizationDetailsOutput) {
		for _, d := range page.RoleDetailList {
			s.add(d)
		}
	})
	s.Calls += calls
	if err != nil {
		return nil, err
	}
	roles := iam.NewListRolesPaginator(r.client, &iam.ListRolesInput{MaxItems: aws.Int32(r.opts.SnapshotPageSize)})
	calls, err = eachPage(ctx, "ListRoles", roles, func(page *iam.ListRolesOutput) {
		for _, listed := range page.Roles {
			if st := s.roles[strings.ToLower(aws.ToString(listed.RoleName))]; st != nil && aws.ToString(listed.RoleId) == st.id {
				st.description = aws.ToString(listed.Description)
				st.maxSession = aws.ToInt32(listed.MaxSessionDuration)
				st.listed = true
			}
		}
	})
	s.Calls += calls
	if err != nil {
		return nil, err
	}
	return s, nil
}

// pager is what the IAM SDK's paginators have in common.
type pager[P any] interface {
	HasMorePages() bool
	NextPage(ctx context.Context, optFns ...func(*iam.Options)) (P, error)
}

// eachPage hands each page of p to each. It returns the number of calls
// it made and the first error of a call, classified as op's.
func eachPage[P any](ctx context.Context, op string, p pager[P], each func(P)) (calls int, err error) {
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		calls++
		if err != nil {
			return calls, classify(op, err)
		}
		each(page)
	}
	return calls, nil
}

// allPages returns the names that names finds in each page of p, or the
// first error of a call, classified as op's.
func allPages[P any](ctx context.Context, op string, p pager[P], names func(P) []string) ([]string, error) {
	var all []string
	if _, err := eachPage(ctx, op, p, func(page P) { all = append(all, names(page)...) }); err != nil {
		return nil, err
	}
	return all, nil
}

// add keeps a role detail when rolegate manages the role.
func (s *Snapshot) add(d types.RoleDetail) {
	if managedBy, _ := tagValue(tagMap(d.Tags), TagManagedBy); managedBy != ManagedByValue {
		return
	}
	st := &roleState{name: aws.ToString(d.RoleName), id: aws.ToString(d.RoleId), arn: aws.ToString(d.Arn), path: aws.ToString(d.Path),
		trust: compactDocument(aws.ToString(d.AssumeRolePolicyDocument)), tags: planTagsOf(d.Tags)}
	if d.PermissionsBoundary != nil {
		st.boundary = aws.ToString(d.PermissionsBoundary.PermissionsBoundaryArn)
	}
	for _, p := range d.RolePolicyList {
		st.inline = append(st.inline, inlineState{aws.ToString(p.PolicyName), compactDocument(aws.ToString(p.PolicyDocument))})
	}
	sort.Slice(st.inline, func(i, j int) bool { return st.inline[i].name < st.inline[j].name })
	for _, a := range d.AttachedManagedPolicies {
		st.attached = append(st.attached, aws.ToString(a.PolicyArn))
	}
	for _, ip := range d.InstanceProfileList {
		p := profileState{name: aws.ToString(ip.InstanceProfileName), id: aws.ToString(ip.InstanceProfileId),
			arn: aws.ToString(ip.Arn), path: aws.ToString(ip.Path), tags: planTagsOf(ip.Tags)}
		for _, r := range ip.Roles {
			p.roles = append(p.roles, aws.ToString(r.RoleName))
		}
		st.profiles = append(st.profiles, p)
	}
	s.roles[strings.ToLower(st.name)] = st
}

func planTagsOf(tags []types.Tag) []Tag {
	out := make([]Tag, len(tags))
	for i, t := range tags {
		out[i] = Tag{Key: aws.ToString(t.Key), Value: aws.ToString(t.Value)}
	}
	return out
}

// compactDocument is a policy document as IAM sent it, percent-decoded
// when that succeeds: the same text for the comparisons, which decode it
// again (a no-op on JSON), in a third of the memory at 10,000 roles. A
// document that does not decode is kept as sent, to fail there as it
// would on a per-role read.
func compactDocument(doc string) string {
	if plain, err := decodePolicyDocument(doc); err == nil {
		return plain
	}
	return doc
}

// Len is the number of rolegate roles the snapshot holds.
func (s *Snapshot) Len() int { return len(s.roles) }

// Holds reports whether the snapshot answers for the role of p: false for
// a role absent from it, not rolegate's, or created between its two reads,
// which DryRunFrom reads from IAM on its own (as DryRun does).
func (s *Snapshot) Holds(p Plan) bool { return s.role(p.Role.Name) != nil }

// role returns the state of the role named name, or nil when the snapshot
// cannot answer for it: absent, not rolegate's, or created between the
// two reads.
func (s *Snapshot) role(name string) *roleState {
	st := s.roles[strings.ToLower(name)]
	if st == nil || !st.listed {
		return nil
	}
	return st
}

// apiRole is the role as GetRole returns it.
func (st *roleState) apiRole() *types.Role {
	r := &types.Role{RoleName: aws.String(st.name), RoleId: aws.String(st.id), Arn: aws.String(st.arn), Path: aws.String(st.path),
		AssumeRolePolicyDocument: aws.String(st.trust), Description: aws.String(st.description),
		MaxSessionDuration: aws.Int32(st.maxSession), Tags: iamTags(st.tags)}
	if st.boundary != "" {
		r.PermissionsBoundary = &types.AttachedPermissionsBoundary{PermissionsBoundaryArn: aws.String(st.boundary),
			PermissionsBoundaryType: types.PermissionsBoundaryAttachmentTypePolicy}
	}
	return r
}

// inlineNames lists the role's inline policies as ListRolePolicies does.
func (st *roleState) inlineNames() []string {
	names := make([]string, len(st.inline))
	for i, p := range st.inline {
		names[i] = p.name
	}
	return names
}

// inlineDocument is the inline policy's document, false when there is none.
func (st *roleState) inlineDocument(name string) (string, bool) {
	for _, p := range st.inline {
		if p.name == name {
			return p.document, true
		}
	}
	return "", false
}

// profile returns the instance profile named name among those holding the
// role, as GetInstanceProfile returns it, or nil. A profile without any tag
// is not trusted to be complete (rolegate's always carry its ownership
// tags, and an endpoint may leave tags out of bulk reads): the caller then
// reads it on its own.
func (st *roleState) profile(name string) *types.InstanceProfile {
	for _, p := range st.profiles {
		if !strings.EqualFold(p.name, name) || len(p.tags) == 0 {
			continue
		}
		out := &types.InstanceProfile{InstanceProfileName: aws.String(p.name), InstanceProfileId: aws.String(p.id),
			Arn: aws.String(p.arn), Path: aws.String(p.path), Tags: iamTags(p.tags)}
		for _, r := range p.roles {
			out.Roles = append(out.Roles, types.Role{RoleName: aws.String(r)})
		}
		return out
	}
	return nil
}

// DryRunFrom is DryRun with the role's state taken from snap: it returns
// the same Report, from the same comparisons, without an IAM call for a
// role the snapshot holds with its instance profile. A role the snapshot
// cannot answer for (see Holds) and a profile that no longer holds its
// role are read from IAM as DryRun does. It fails like DryRun.
func (r *Reconciler) DryRunFrom(ctx context.Context, snap *Snapshot, p Plan) (Report, error) {
	st := snap.role(p.Role.Name)
	if st == nil {
		return r.DryRun(ctx, p)
	}
	run := &run{r: r, plan: p, dry: true, snap: st}
	run.report.DryRun = true
	err := run.apply(ctx)
	return run.report, err
}
