package iamlocal

import "fmt"

// The XML shapes of IAM results, fields in the order IAM sends them.

// memberList is an IAM list: each item in a <member> element.
type memberList[T any] struct {
	Member []T `xml:"member"`
}

type xmlTag struct {
	Key   string
	Value string
}

type xmlBoundary struct {
	PermissionsBoundaryType string
	PermissionsBoundaryArn  string
}

type xmlRole struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string              `xml:",omitempty"`
	Description              string              `xml:",omitempty"`
	MaxSessionDuration       int                 `xml:",omitempty"`
	PermissionsBoundary      *xmlBoundary        `xml:",omitempty"`
	Tags                     *memberList[xmlTag] `xml:",omitempty"`
}

type xmlProfile struct {
	Path                string
	InstanceProfileName string
	InstanceProfileId   string
	Arn                 string
	CreateDate          string
	Roles               memberList[xmlRole]
	Tags                *memberList[xmlTag] `xml:",omitempty"`
}

type xmlPolicy struct {
	PolicyName                    string
	PolicyId                      string
	Arn                           string
	Path                          string
	DefaultVersionId              string
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
	IsAttachable                  bool
	Description                   string `xml:",omitempty"`
	CreateDate                    string
	UpdateDate                    string
	Tags                          *memberList[xmlTag] `xml:",omitempty"`
}

type xmlAttachedPolicy struct {
	PolicyName string
	PolicyArn  string
}

// page ends every paginated result.
type page struct {
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

func (s *Server) roleARN(r *role) string { return roleARNIn(s.who.account, r) }

// roleARNIn is the ARN of role r of the account.
func roleARNIn(account string, r *role) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s%s", account, arnPath(r.Path), r.Name)
}

func (s *Server) profileARN(p *profile) string {
	return fmt.Sprintf("arn:aws:iam::%s:instance-profile/%s%s", s.who.account, arnPath(p.Path), p.Name)
}

func (s *Server) policyARN(path, name string) string {
	return fmt.Sprintf("arn:aws:iam::%s:policy/%s%s", s.who.account, arnPath(path), name)
}

// roleXML renders a role; full adds what only CreateRole and GetRole send
// (permissions boundary and tags), which ListRoles and profiles leave out.
func (s *Server) roleXML(r *role, full bool) xmlRole {
	x := xmlRole{
		Path:                     r.Path,
		RoleName:                 r.Name,
		RoleId:                   r.ID,
		Arn:                      s.roleARN(r),
		CreateDate:               r.Created.UTC().Format(isoTime),
		AssumeRolePolicyDocument: percentEncode(r.TrustPolicy),
		Description:              r.Description,
		MaxSessionDuration:       r.MaxSessionDuration,
	}
	if full {
		if r.BoundaryARN != "" {
			x.PermissionsBoundary = &xmlBoundary{
				PermissionsBoundaryType: "PermissionsBoundaryPolicy",
				PermissionsBoundaryArn:  r.BoundaryARN,
			}
		}
		x.Tags = tagsXML(r.Tags)
	}
	return x
}

func (s *Server) profileXML(p *profile) xmlProfile {
	x := xmlProfile{
		Path:                p.Path,
		InstanceProfileName: p.Name,
		InstanceProfileId:   p.ID,
		Arn:                 s.profileARN(p),
		CreateDate:          p.Created.UTC().Format(isoTime),
		Tags:                tagsXML(p.Tags),
	}
	// Like GetRole, a read does not see a role younger than the consistency
	// delay inside a profile either.
	if r, ok := s.st.Roles[nameKey(p.Role)]; ok && p.Role != "" && s.visible(r.Created) {
		x.Roles.Member = append(x.Roles.Member, s.roleXML(r, false))
	}
	return x
}

// tagsXML returns nil for no tags so the element is left out.
func tagsXML(tags []tag) *memberList[xmlTag] {
	if len(tags) == 0 {
		return nil
	}
	l := &memberList[xmlTag]{}
	for _, t := range tags {
		l.Member = append(l.Member, xmlTag(t))
	}
	return l
}
