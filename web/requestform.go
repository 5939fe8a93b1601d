package web

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// scopeRow is one bucket scope as typed in the form.
type scopeRow struct {
	Bucket, Prefix, Access string
}

// requestForm is the new-request (and change-request) form as the user
// typed it, with the problems found, keyed by the validator's field paths
// (name, buckets[1].prefix, justification, ...).
type requestForm struct {
	Name, Description, Justification string
	// Account is the name of the account chosen; "" is the default.
	Account      string
	Scopes       []scopeRow
	SessionHours string
	Managed      []string
	Expires      string
	Errors       map[string]string
	Problems     []provision.FieldError
	// Changed is the request whose active role a change changes, the zero
	// Request for a new request. Its role name cannot be edited; the
	// change keeps its role's IAM name and path (settings) and, by the
	// date it is shown as, its expiry (spec).
	Changed store.Request
	// Focus is the id of the field the page opens with the focus in
	// (autofocus): after a row is added or removed, the row's bucket, so
	// a keyboard user goes on where they were.
	Focus string
}

// changeOf is the ID of the request a change changes, 0 for a new request.
func (f requestForm) changeOf() int64 { return f.Changed.ID }

func newRequestForm() requestForm {
	return requestForm{Scopes: []scopeRow{{Access: string(provision.AccessRead)}}}
}

// settings are what the form is checked, previewed and shown under: for a
// change, the IAM name and path its role keeps, as the store assesses and
// provisions it (a name prefix or path changed since would otherwise
// preview another role, or refuse the name as too long under the new
// prefix).
func (f requestForm) settings(d Deps) provision.Settings {
	if f.changeOf() == 0 {
		return d.Settings
	}
	return d.Settings.Keeping(f.Account, f.Name, f.Changed.KeptRoleARN())
}

// checked is spec as its submission is checked (store.SpecToCheck).
func (f requestForm) checked(spec provision.RoleSpec) provision.RoleSpec {
	return store.SpecToCheck(f.Changed, spec)
}

// formFromRequest prefills the change form with a role's current version.
func formFromRequest(r store.Request) requestForm {
	f := requestForm{Name: r.Spec.Name, Account: r.Spec.Account, Description: r.Spec.Description, Justification: r.Justification,
		Managed: r.Spec.ManagedPolicies, Changed: r}
	for _, s := range r.Spec.Buckets {
		f.Scopes = append(f.Scopes, scopeRow{Bucket: s.Bucket, Prefix: s.Prefix, Access: string(s.Access)})
	}
	if r.Spec.MaxSessionDuration > 0 {
		f.SessionHours = strconv.Itoa(int(r.Spec.MaxSessionDuration) / 3600)
	}
	if r.Spec.ExpiresAt != nil {
		f.Expires = r.Spec.ExpiresAt.UTC().Format(time.DateOnly)
	}
	return f
}

// accountSelected reports whether the form's account select shows name
// chosen: the one chosen, or the first (the default) when none is.
func (f requestForm) accountSelected(set provision.Settings, name string) bool {
	if f.Account == "" {
		return name == set.AccountNames()[0]
	}
	return f.Account == name
}

// parseRequestForm reads the form. Every scope row is kept, blank ones
// too: a row the user added and left empty gets its message at its field
// rather than vanishing.
func parseRequestForm(c echo.Context) (requestForm, error) {
	params, err := c.FormParams()
	if err != nil {
		return requestForm{}, echo.NewHTTPError(400, "The form could not be read.")
	}
	f := requestForm{
		Name:          strings.TrimSpace(params.Get("name")),
		Account:       params.Get("account"),
		Description:   strings.TrimSpace(params.Get("description")),
		Justification: strings.TrimSpace(params.Get("justification")),
		SessionHours:  params.Get("session_hours"),
		Managed:       params["managed"],
		Expires:       strings.TrimSpace(params.Get("expires")),
	}
	buckets, prefixes, access := params["bucket"], params["prefix"], params["access"]
	if len(buckets) > 200 {
		return requestForm{}, echo.NewHTTPError(400, "Too many scope rows.")
	}
	for i := range buckets {
		row := scopeRow{Bucket: strings.TrimSpace(buckets[i])}
		if i < len(prefixes) {
			row.Prefix = strings.TrimSpace(prefixes[i])
		}
		if i < len(access) {
			row.Access = access[i]
		}
		f.Scopes = append(f.Scopes, row)
	}
	return f, nil
}

// spec turns the form into a RoleSpec; values that cannot even be parsed
// (a date that is not a date) are added to the form's errors. The change
// form shows the expiry by its date: the same date sent back is the
// expiry asked for before, to the second, so the change keeps the expiry
// in force (and its preview says so) rather than asking for midnight.
func (f *requestForm) spec() provision.RoleSpec {
	s := provision.RoleSpec{Name: f.Name, Account: f.Account, Description: f.Description, ManagedPolicies: f.Managed}
	for _, r := range f.Scopes {
		s.Buckets = append(s.Buckets, provision.BucketScope{Bucket: r.Bucket, Prefix: r.Prefix, Access: provision.Access(r.Access)})
	}
	if f.SessionHours != "" {
		// Range-checked in hours before multiplying: 1193048 hours is
		// 5504 seconds in int32 arithmetic. Every number out of range,
		// even one too large for an int, gets the same words: the range.
		minH, maxH := provision.MinSessionSeconds/3600, provision.MaxSessionSeconds/3600
		h, err := strconv.Atoi(f.SessionHours)
		switch {
		case err != nil && !errors.Is(err, strconv.ErrRange):
			f.addError("max_session_duration", fmt.Sprintf("choose a session length from the list (%d to %d hours)", minH, maxH))
		case err != nil || h < minH || h > maxH:
			f.addError("max_session_duration", fmt.Sprintf("session length must be %d to %d hours", minH, maxH))
		default:
			s.MaxSessionDuration = int32(h * 3600)
		}
	}
	if f.Expires != "" {
		t, err := time.Parse(time.DateOnly, f.Expires)
		if err != nil {
			f.addError("expires_at", "expiry must be a date like 2030-01-31")
		} else {
			s.ExpiresAt = &t
		}
		if asked := f.Changed.Spec.ExpiresAt; asked != nil && f.Expires == asked.UTC().Format(time.DateOnly) {
			s.ExpiresAt = asked
		}
	}
	return s
}

func (f *requestForm) addError(field, msg string) {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	if _, dup := f.Errors[field]; dup {
		return
	}
	f.Errors[field] = msg
	f.Problems = append(f.Problems, provision.FieldError{Field: field, Message: msg})
}

// setProblems puts the validator's problems at their fields. Problems of
// one managed policy are shown at the managed policies.
func (f *requestForm) setProblems(err error) bool {
	var verr *provision.ValidationError
	if !errors.As(err, &verr) {
		return false
	}
	for _, p := range verr.Problems {
		field := p.Field
		if strings.HasPrefix(field, "managed_policies[") {
			field = "managed_policies"
		}
		f.addError(field, p.Message)
	}
	return true
}

func (f requestForm) hasErrors() bool { return len(f.Problems) > 0 }

func (f requestForm) action() string {
	if f.changeOf() != 0 {
		return fmt.Sprintf("/requests/%d/change", f.changeOf())
	}
	return "/requests/new"
}

// cancelURL is where the form's Cancel leads: back to the role's request
// page from a change, to the user's requests from a new request.
func (f requestForm) cancelURL() string {
	if f.changeOf() != 0 {
		return fmt.Sprintf("/requests/%d", f.changeOf())
	}
	return "/requests"
}

func (f requestForm) managedChecked(p string) bool { return slices.Contains(f.Managed, p) }

// fieldID is the id of the input a validator field path points at, so the
// error summary can link to it.
func fieldID(field string) string {
	if i, part, ok := scopeField(field); ok {
		if part == "" {
			part = "bucket"
		}
		return fmt.Sprintf("f-%s-%d", part, i)
	}
	switch field {
	case "account":
		return "f-account"
	case "buckets":
		return "scopes"
	case "max_session_duration":
		return "f-session"
	case "managed_policies":
		return "f-managed"
	case "expires_at":
		return "f-expires"
	}
	return "f-" + field
}

// summaryLink is the id the error summary links field's problem to, or
// "" when the page has no such field: no account chooser with one
// account, no managed policies where none are allowed, no row beyond the
// form's. The problem is then listed without a link, which would lead
// nowhere.
func (f requestForm) summaryLink(set provision.Settings, field string) string {
	if i, _, ok := scopeField(field); ok {
		if i < 0 || i >= len(f.Scopes) {
			return ""
		}
		return fieldID(field)
	}
	switch field {
	case "account":
		if len(set.AccountNames()) < 2 {
			return ""
		}
	case "managed_policies":
		if len(set.AllowedManagedPolicies) == 0 {
			return ""
		}
	case "name", "description", "justification", "buckets", "max_session_duration", "expires_at":
	default:
		return ""
	}
	return fieldID(field)
}

func rowKey(i int, part string) string {
	if part == "" {
		return fmt.Sprintf("buckets[%d]", i)
	}
	return fmt.Sprintf("buckets[%d].%s", i, part)
}

func rowID(part string, i int) string { return fmt.Sprintf("f-%s-%d", part, i) }

// bucketInvalid is the aria-invalid of row i's bucket: a problem of the
// bucket, or of the whole row (an overlap), which the error summary links
// to the bucket.
func (f requestForm) bucketInvalid(i int) string {
	if invalid(f.Errors, rowKey(i, "bucket")) == "true" || invalid(f.Errors, rowKey(i, "")) == "true" {
		return "true"
	}
	return "false"
}

// bucketDescribedBy is the aria-describedby of row i's bucket: its own
// message, and the row's when the row has one, so both are read with it.
func (f requestForm) bucketDescribedBy(i int) string {
	ids := rowID("bucket", i) + "-error"
	if _, ok := f.Errors[rowKey(i, "")]; ok {
		ids += " " + rowID("bucket", i) + "-row-error"
	}
	return ids
}
