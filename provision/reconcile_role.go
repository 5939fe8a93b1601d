package provision

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// getRole returns the role, or nil when IAM says it does not exist.
func (x *run) getRole(ctx context.Context) (*types.Role, error) {
	if x.snap != nil {
		return x.snap.apiRole(), nil
	}
	out, err := x.r.client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(x.plan.Role.Name)})
	if out, err = unlessMissing("GetRole", out, err); out == nil {
		return nil, err
	}
	return out.Role, nil
}

// tagMap returns tags as a map. GetRole and GetInstanceProfile report all
// of an entity's tags (at most 50), which spares a ListRoleTags or
// ListInstanceProfileTags call.
func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// tagValue returns the value of the tag key among tags, and whether there
// is one. IAM tag keys ignore case (tagging a key in another case replaces
// the value and keeps the key), so neither does tagValue.
func tagValue(tags map[string]string, key string) (string, bool) {
	if v, ok := tags[key]; ok {
		return v, true
	}
	for k, v := range tags {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return "", false
}

func (x *run) owns(tags map[string]string) bool { return x.plan.owns(tags) }

// owns reports whether an entity with tags is rolegate's for the plan's
// request in the plan's installation: managed-by=rolegate, the request's
// ID, and the installation's ID or, for a request the installation may
// adopt for (adopts), no installation tag at all. A role or profile
// without one was made by a rolegate before installations had IDs, and
// rolegate made it for this request as far as anyone can tell: it is
// taken for the plan's, and a reconcile tags it (a drift until then).
// One tagged with another installation's ID (or any, when the plan has
// none) is not the plan's, whatever its request ID.
func (p Plan) owns(tags map[string]string) bool {
	managedBy, _ := tagValue(tags, TagManagedBy)
	requestID, _ := tagValue(tags, TagRequestID)
	if managedBy != ManagedByValue || requestID != p.Meta.RequestID {
		return false
	}
	if installation, tagged := tagValue(tags, TagInstallation); tagged {
		return installation == p.Installation
	}
	return p.adopts()
}

// adopts reports whether the plan's request may own a role or profile
// without the installation tag. With an installation, only a request
// that existed before its ID was drawn (a number up to AdoptsUpTo) may:
// rolegate has tagged everything it made since, so an untagged role of a
// later request's number is another installation's, made before that one
// had an ID. A request ID that is not a database's number (a plan's of
// tests or tools) adopts nothing then. Without an installation (rolegate
// render) every untagged one is the request's, as before installation IDs.
func (p Plan) adopts() bool {
	if p.Installation == "" {
		return true
	}
	id, err := strconv.ParseInt(p.Meta.RequestID, 10, 64)
	return err == nil && strconv.FormatInt(id, 10) == p.Meta.RequestID && id >= 1 && id <= p.AdoptsUpTo
}

// applyRole creates the role or repairs its attributes. It returns the
// role's ARN and whether the role was (or, in a dry run, would be) created.
// A fresh run creates without reading; a role that exists after all is
// read and checked like any other.
func (x *run) applyRole(ctx context.Context) (string, bool, error) {
	var role *types.Role
	if !x.fresh {
		var err error
		if role, err = x.getRole(ctx); err != nil {
			return "", false, err
		}
	}
	if role == nil {
		arn, err := x.createRole(ctx)
		if err == nil || !isAlreadyExists(err) {
			return arn, err == nil, err
		}
		if role, err = x.existingRole(ctx); err != nil {
			return "", false, err
		}
	}
	if err := x.checkRole(role); err != nil {
		return "", false, err
	}
	var changes []string
	for _, repair := range []func() ([]string, error){
		func() ([]string, error) { return x.repairTrust(ctx, role) },
		func() ([]string, error) { return x.repairRoleAttributes(ctx, role) },
		func() ([]string, error) { return x.repairBoundary(ctx, role) },
		func() ([]string, error) { return x.repairRoleTags(ctx, tagMap(role.Tags)) },
	} {
		done, err := repair()
		changes = append(changes, done...)
		if err != nil {
			return "", false, err
		}
	}
	arn := aws.ToString(role.Arn)
	x.result(ResourceResult{Kind: KindRole, Name: x.plan.Role.Name, ARN: arn, Outcome: outcome(true, changes), Changes: changes})
	return arn, false, nil
}

// existingRole reads the role CreateRole said exists. A role created
// moments ago (by a run that stopped) may not be shown to reads yet, so it
// waits for it as for a new one. It returns the error of the read or of
// the wait.
func (x *run) existingRole(ctx context.Context) (*types.Role, error) {
	role, err := x.getRole(ctx)
	if err != nil || role != nil {
		return role, err
	}
	return x.waitRole(ctx)
}

// createRole creates the planned role. It returns the role's ARN (the
// planned one in a dry run), or the error of the call. It does not wait
// for IAM to show the role: the writes that follow retry while IAM does
// not know it yet (see untilVisible), and the readiness of the role and
// its instance profile is awaited once, at the end (placeRole).
func (x *run) createRole(ctx context.Context) (string, error) {
	want := x.plan.Role
	arn := x.plan.RoleARN()
	in := &iam.CreateRoleInput{
		RoleName:                 aws.String(want.Name),
		Path:                     aws.String(want.Path),
		Description:              aws.String(want.Description),
		AssumeRolePolicyDocument: aws.String(want.TrustPolicy),
		MaxSessionDuration:       aws.Int32(want.MaxSessionDuration),
		Tags:                     iamTags(want.Tags),
	}
	if want.PermissionsBoundaryARN != "" {
		in.PermissionsBoundary = aws.String(want.PermissionsBoundaryARN)
	}
	err := x.write(ctx, Call{"CreateRole", want.Name, "path " + want.Path}, func(ctx context.Context) error {
		out, err := x.r.client.CreateRole(ctx, in)
		if err == nil {
			arn = aws.ToString(out.Role.Arn)
		}
		return err
	})
	if err != nil {
		return "", err
	}
	x.result(ResourceResult{Kind: KindRole, Name: want.Name, ARN: arn, Outcome: OutcomeCreated})
	return arn, nil
}

// checkRole returns a *PermanentError when an existing role of the plan's
// name is not rolegate's for this request or sits under another path,
// which IAM cannot change.
func (x *run) checkRole(role *types.Role) error {
	want := x.plan.Role
	if tags := tagMap(role.Tags); !x.owns(tags) {
		return foreignError("GetRole", "role", want.Name, x.plan, tags)
	}
	if p := aws.ToString(role.Path); p != want.Path {
		return &PermanentError{Op: "GetRole", Code: CodePathMismatch, Message: fmt.Sprintf(
			"role %q is under path %s but the plan wants %s; IAM cannot move a role, so destroy it and apply again", want.Name, p, want.Path)}
	}
	return nil
}

// repairTrust replaces the role's trust policy when it differs from the
// plan's in meaning. It returns the change made, or the error of decoding
// the policy IAM holds or of the call.
func (x *run) repairTrust(ctx context.Context, role *types.Role) ([]string, error) {
	want := x.plan.Role
	trust, err := decodePolicyDocument(aws.ToString(role.AssumeRolePolicyDocument))
	if err != nil {
		return nil, fmt.Errorf("decode trust policy of role %q: %w", want.Name, err)
	}
	if same, _ := policiesEqual(trust, want.TrustPolicy); same {
		return nil, nil
	}
	changes := []string{"trust policy"}
	return changes, x.write(ctx, Call{"UpdateAssumeRolePolicy", want.Name, ""}, func(ctx context.Context) error {
		_, err := x.r.client.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(want.Name), PolicyDocument: aws.String(want.TrustPolicy)})
		return err
	})
}

// repairRoleAttributes sets the description and maximum session duration
// in one call when either differs. It returns the changes made, or the
// call's error.
func (x *run) repairRoleAttributes(ctx context.Context, role *types.Role) ([]string, error) {
	want := x.plan.Role
	var upd []string
	if aws.ToString(role.Description) != want.Description {
		upd = append(upd, "description")
	}
	if aws.ToInt32(role.MaxSessionDuration) != want.MaxSessionDuration {
		upd = append(upd, fmt.Sprintf("max session duration %d -> %d", aws.ToInt32(role.MaxSessionDuration), want.MaxSessionDuration))
	}
	if len(upd) == 0 {
		return nil, nil
	}
	return upd, x.write(ctx, Call{"UpdateRole", want.Name, strings.Join(upd, ", ")}, func(ctx context.Context) error {
		_, err := x.r.client.UpdateRole(ctx, &iam.UpdateRoleInput{RoleName: aws.String(want.Name),
			Description: aws.String(want.Description), MaxSessionDuration: aws.Int32(want.MaxSessionDuration)})
		return err
	})
}

// repairBoundary sets or removes the role's permissions boundary to match
// the plan. It returns the change made, or the call's error.
func (x *run) repairBoundary(ctx context.Context, role *types.Role) ([]string, error) {
	want := x.plan.Role
	var have string
	if role.PermissionsBoundary != nil {
		have = aws.ToString(role.PermissionsBoundary.PermissionsBoundaryArn)
	}
	switch {
	case have == want.PermissionsBoundaryARN:
		return nil, nil
	case want.PermissionsBoundaryARN == "":
		return []string{"permissions boundary removed"}, x.write(ctx, Call{"DeleteRolePermissionsBoundary", want.Name, have}, func(ctx context.Context) error {
			_, err := x.r.client.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String(want.Name)})
			return err
		})
	default:
		return []string{"permissions boundary set"}, x.write(ctx, Call{"PutRolePermissionsBoundary", want.Name, want.PermissionsBoundaryARN}, func(ctx context.Context) error {
			_, err := x.r.client.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String(want.Name), PermissionsBoundary: aws.String(want.PermissionsBoundaryARN)})
			return err
		})
	}
}

// repairRoleTags sets the planned tags the role lacks (or has with another
// value) and removes those the plan does not have. It returns the changes
// made, or the error of the first call that failed.
func (x *run) repairRoleTags(ctx context.Context, have map[string]string) ([]string, error) {
	name := aws.String(x.plan.Role.Name)
	return x.repairTags(ctx, tagging{
		resource: x.plan.Role.Name, tagAction: "TagRole", untagAction: "UntagRole",
		tag: func(ctx context.Context, set []types.Tag) error {
			_, err := x.r.client.TagRole(ctx, &iam.TagRoleInput{RoleName: name, Tags: set})
			return err
		},
		untag: func(ctx context.Context, keys []string) error {
			_, err := x.r.client.UntagRole(ctx, &iam.UntagRoleInput{RoleName: name, TagKeys: keys})
			return err
		},
	}, have, x.plan.Role.Tags)
}

// tagging is how to set and remove the tags of one IAM resource.
type tagging struct {
	resource               string // its name, for the report's calls
	tagAction, untagAction string
	tag                    func(ctx context.Context, tags []types.Tag) error
	untag                  func(ctx context.Context, keys []string) error
}

// repairTags sets the tags of want that have lacks (or has with another
// value), then removes the keys of have that want does not have. It
// returns the changes made, or the error of the first call that failed.
func (x *run) repairTags(ctx context.Context, t tagging, have map[string]string, want []Tag) ([]string, error) {
	var changes []string
	set, remove := diffTags(have, want)
	if len(set) > 0 {
		changes = append(changes, "tags set: "+strings.Join(tagKeys(set), ", "))
		if err := x.write(ctx, Call{t.tagAction, t.resource, strings.Join(tagKeys(set), ", ")}, func(ctx context.Context) error {
			return t.tag(ctx, iamTags(set))
		}); err != nil {
			return changes, err
		}
	}
	if len(remove) > 0 {
		changes = append(changes, "tags removed: "+strings.Join(remove, ", "))
		if err := x.write(ctx, Call{t.untagAction, t.resource, strings.Join(remove, ", ")}, func(ctx context.Context) error {
			return t.untag(ctx, remove)
		}); err != nil {
			return changes, err
		}
	}
	return changes, nil
}

// diffTags returns the tags to set (missing or different) and the keys to
// remove (present but not planned). Keys are compared as IAM does, without
// regard to case: a planned tag present under its key in another case is
// not removed (removing it would remove the planned tag too), and is set
// only when its value differs.
func diffTags(have map[string]string, want []Tag) ([]Tag, []string) {
	var set []Tag
	for _, t := range want {
		if v, ok := tagValue(have, t.Key); !ok || v != t.Value {
			set = append(set, t)
		}
	}
	var remove []string
	for k := range have {
		if !slices.ContainsFunc(want, func(t Tag) bool { return strings.EqualFold(t.Key, k) }) {
			remove = append(remove, k)
		}
	}
	sort.Strings(remove)
	return set, remove
}

func tagKeys(tags []Tag) []string {
	keys := make([]string, len(tags))
	for i, t := range tags {
		keys[i] = t.Key
	}
	return keys
}

func iamTags(tags []Tag) []types.Tag {
	out := make([]types.Tag, len(tags))
	for i, t := range tags {
		out[i] = types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)}
	}
	return out
}
