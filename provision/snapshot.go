package provision

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// Snapshot is the IAM state of every role rolegate manages (those tagged
// rolegate:managed-by), read in bulk by ReadSnapshot: a drift check over
// thousands of roles then costs a few dozen IAM calls instead of six a
// role. Roles without rolegate's tag are not kept, so they are never
// compared, let alone changed.
type Snapshot struct {
	roles map[string]*roleState // by lower-cased name: IAM names ignore case
	// Calls is the number of IAM calls the read made.
	Calls int
}

// roleState is one role as the bulk read saw it, in the shapes the
// per-role reads return, so that a dry run compares it with the same code.
type roleState struct {
	role     types.Role // with its tags, boundary and trust policy
	tags     map[string]string
	inline   map[string]string // inline policy name -> document as IAM sent it
	attached []string          // managed policy ARNs
	profiles []types.InstanceProfile
	listed   bool // ListRoles gave its description and maximum session
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
	for details.HasMorePages() {
		page, err := details.NextPage(ctx)
		s.Calls++
		if err != nil {
			return nil, classify("GetAccountAuthorizationDetails", err)
		}
		for _, d := range page.RoleDetailList {
			s.add(d)
		}
	}
	roles := iam.NewListRolesPaginator(r.client, &iam.ListRolesInput{MaxItems: aws.Int32(r.opts.SnapshotPageSize)})
	for roles.HasMorePages() {
		page, err := roles.NextPage(ctx)
		s.Calls++
		if err != nil {
			return nil, classify("ListRoles", err)
		}
		for _, listed := range page.Roles {
			if st := s.roles[strings.ToLower(aws.ToString(listed.RoleName))]; st != nil && aws.ToString(listed.RoleId) == aws.ToString(st.role.RoleId) {
				st.role.Description = listed.Description
				st.role.MaxSessionDuration = listed.MaxSessionDuration
				st.listed = true
			}
		}
	}
	return s, nil
}

// add keeps a role detail when rolegate manages the role.
func (s *Snapshot) add(d types.RoleDetail) {
	tags := make(map[string]string, len(d.Tags))
	for _, t := range d.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if tags[TagManagedBy] != ManagedByValue {
		return
	}
	st := &roleState{
		role: types.Role{
			RoleName: d.RoleName, RoleId: d.RoleId, Arn: d.Arn, Path: d.Path, CreateDate: d.CreateDate,
			AssumeRolePolicyDocument: d.AssumeRolePolicyDocument, PermissionsBoundary: d.PermissionsBoundary, Tags: d.Tags,
		},
		tags:     tags,
		inline:   make(map[string]string, len(d.RolePolicyList)),
		profiles: d.InstanceProfileList,
	}
	for _, p := range d.RolePolicyList {
		st.inline[aws.ToString(p.PolicyName)] = aws.ToString(p.PolicyDocument)
	}
	for _, a := range d.AttachedManagedPolicies {
		st.attached = append(st.attached, aws.ToString(a.PolicyArn))
	}
	s.roles[strings.ToLower(aws.ToString(d.RoleName))] = st
}

// Len is the number of rolegate roles the snapshot holds.
func (s *Snapshot) Len() int { return len(s.roles) }

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

// profile returns the instance profile named name among those holding the
// role, or nil. A profile without any tag is not trusted to be complete
// (rolegate's always carry its ownership tags, and an endpoint may leave
// tags out of bulk reads): the caller then reads it on its own.
func (st *roleState) profile(name string) *types.InstanceProfile {
	for i := range st.profiles {
		p := &st.profiles[i]
		if strings.EqualFold(aws.ToString(p.InstanceProfileName), name) && len(p.Tags) > 0 {
			return p
		}
	}
	return nil
}

// DryRunFrom is DryRun with the role's state taken from snap: it returns
// the same Report, from the same comparisons, without an IAM call for a
// role the snapshot holds with its instance profile. A role the snapshot
// cannot answer for (absent, not rolegate's, newer than the snapshot) and
// a profile that no longer holds its role are read from IAM as DryRun
// does. It fails like DryRun.
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
