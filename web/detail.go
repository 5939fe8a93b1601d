package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/auth"
	"github.com/rolegate/rolegate/web/problem"
)

// detailView is everything the request page shows.
type detailView struct {
	R        store.Request
	Acts     store.Actions
	Progress store.Progress
	Me       string
	Owner    bool
	Versions []store.Version
	Events   []store.Event
	// EarlierEvents is true when the request has events older than the
	// timelineSize latest ones in Events.
	EarlierEvents bool
	Trust         string
	Policy        string
	TF            terraformText
	PlanErr       string
	// Decide is the decide form as typed when it comes back with errors.
	Decide decideInput
	// Assessment is the current version's words, risks and, for a change,
	// its verdict; Assessed is false when the settings no longer allow it.
	Assessment store.Assessment
	Assessed   bool
	// PolicyDiff is a change's policy against the live version's.
	PolicyDiff []string
	// Reuse lists the requester's live roles granting all of this that the
	// viewer may read.
	Reuse []store.Reuse
	// Account names the role's account with its ID, when there are more
	// accounts than one; PlannedARN is the role's ARN there as the plan
	// predicts it, before the role exists.
	Account, PlannedARN string
}

// terraformText is the Terraform of the current version: the text stored
// when it was provisioned, or else rendered from its plan.
type terraformText struct {
	Text   string
	Stored bool
	SHA256 string
}

// loadVisible returns the request of the :id parameter when actor may see it.
func loadVisible(c echo.Context, d Deps, actor store.Actor) (store.Request, store.Actions, error) {
	id, err := requestIDParam(c)
	if err != nil {
		return store.Request{}, store.Actions{}, err
	}
	r, err := d.Store.GetRequest(c.Request().Context(), id)
	if err != nil {
		return store.Request{}, store.Actions{}, err
	}
	if !d.Store.MayView(actor, r) {
		return store.Request{}, store.Actions{}, echo.NewHTTPError(http.StatusForbidden, problem.ForbiddenView)
	}
	return r, d.Store.Allowed(actor, r), nil
}

// currentTerraform is the Terraform of the version the page shows (the
// current one, which approvers decide on): the text stored when it was
// provisioned, or else rendered from store.PlanOf, byte for byte what the
// worker will store once it is approved except the header's approval
// lines.
func currentTerraform(d Deps, r store.Request, versions []store.Version) (terraformText, provision.Plan, error) {
	for _, v := range versions {
		if v.Number != r.Version {
			continue
		}
		plan, err := store.PlanOf(store.WorkOf(r, v), d.Settings)
		if v.Terraform != "" {
			return terraformText{Text: v.Terraform, Stored: true, SHA256: v.TerraformSHA256}, plan, err
		}
		if err != nil {
			return terraformText{}, plan, err
		}
		tf, err := provision.Terraform(plan)
		return terraformText{Text: string(tf)}, plan, err
	}
	return terraformText{}, provision.Plan{}, &store.Error{Kind: store.KindNotFound, Message: fmt.Sprintf("request %d has no version %d", r.ID, r.Version)}
}

func handleRequestDetail(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		v, err := loadDetail(c, d, actor)
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, detailPage(v))
	}
}

// loadDetail gathers the request page of the :id parameter for actor.
func loadDetail(c echo.Context, d Deps, actor store.Actor) (detailView, error) {
	r, acts, err := loadVisible(c, d, actor)
	if err != nil {
		return detailView{}, err
	}
	ctx := c.Request().Context()
	versions, err := d.Store.ListVersions(ctx, r.ID)
	if err != nil {
		return detailView{}, err
	}
	// The latest timelineSize events, oldest first; one more tells
	// whether earlier ones were left out.
	events, err := d.Store.ListEvents(ctx, store.EventFilter{RequestID: r.ID, Limit: timelineSize + 1, NewestFirst: true})
	if err != nil {
		return detailView{}, err
	}
	earlier := len(events) > timelineSize
	if earlier {
		events = events[:timelineSize]
	}
	slices.Reverse(events)
	v := detailView{R: r, Acts: acts, Progress: d.Store.Progress(r), Me: actor.Name, Owner: actor.Name == r.Requester,
		Versions: versions, Events: events, EarlierEvents: earlier}
	as, err := d.Store.Assess(ctx, actor, []store.Request{r})
	if err != nil {
		return detailView{}, err
	}
	v.Assessment, v.Assessed = as[r.ID]
	if live, ok := store.LiveVersion(r, versions); ok && v.Assessment.Change != nil {
		v.PolicyDiff = store.PolicyDiff(live.Spec, r.Spec, r.RoleARN, d.Settings)
	}
	if v.Reuse, err = d.Store.ReusableRoles(ctx, actor, r.Requester, r.Spec.Account, r.Spec.Buckets, r.ID); err != nil {
		return detailView{}, err
	}
	tf, plan, err := currentTerraform(d, r, versions)
	if err != nil {
		// A spec the settings no longer allow still deserves its page.
		v.PlanErr = "The policies cannot be rendered with the current settings: " + err.Error()
	} else {
		v.Trust, v.Policy, v.TF = prettyJSON(plan.Role.TrustPolicy), prettyJSON(plan.Policy.Document), tf
		v.PlannedARN = plan.RoleARN()
	}
	if len(d.Settings.Accounts) > 1 {
		v.Account = accountLabel(d.Settings, r.Spec.Account)
	}
	return v, nil
}

// handleTerraformDownload sends the current version's Terraform as a file.
func handleTerraformDownload(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		r, _, err := loadVisible(c, d, actor)
		if err != nil {
			return err
		}
		versions, err := d.Store.ListVersions(c.Request().Context(), r.ID)
		if err != nil {
			return err
		}
		tf, plan, err := currentTerraform(d, r, versions)
		if err != nil {
			return err
		}
		// Role names hold only [A-Za-z0-9+=,.@_-]: safe inside the quotes.
		// A version not provisioned yet says so in its name, so the file is
		// never taken for the role's Terraform.
		name := plan.Role.Name // with the prefix of the role's account
		if !tf.Stored {
			name += fmt.Sprintf(".v%d.not-approved", r.Version)
		}
		c.Response().Header().Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="%s.tf"`, name))
		return c.Blob(http.StatusOK, "text/plain; charset=utf-8", []byte(tf.Text))
	}
}

// arnParts splits an ARN after each ":" and "/", where a line may break.
func arnParts(arn string) []string {
	var parts []string
	for len(arn) > 0 {
		i := strings.IndexAny(arn, ":/")
		if i < 0 {
			return append(parts, arn)
		}
		parts = append(parts, arn[:i+1])
		arn = arn[i+1:]
	}
	return parts
}

// idAttr is an id attribute, or none for an empty id.
func idAttr(id string) templ.Attributes {
	if id == "" {
		return nil
	}
	return templ.Attributes{"id": id}
}

// ago says how long ago t was, in the largest whole unit.
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(d.Hours()/24))
}

// isChange reports whether r's current version is a change to a role
// that is live at another version, not yet (or never) in force.
func isChange(r store.Request) bool { return r.LiveVersion != 0 && r.LiveVersion != r.Version }

// terraformNote says what the Terraform of a version not provisioned is,
// by the version's status: it said "once approved" of approved ones too.
func terraformNote(s store.Status) string {
	switch s {
	case store.StatusPending:
		return "What will be applied once approved."
	case store.StatusApproved, store.StatusProvisioning:
		return "What will be applied: approved, not provisioned yet."
	}
	return "Not provisioned."
}

// changeNote follows a page's version number with the live version a
// change would replace, or nothing.
func changeNote(r store.Request) string {
	if !isChange(r) {
		return ""
	}
	return fmt.Sprintf(", a change to the live version %d", r.LiveVersion)
}

// othersDecisions are the decisions in ds not made by me (under my name
// in any case: store.SamePerson, as DecisionOf finds mine).
func othersDecisions(ds []store.DecisionRecord, me string) []store.DecisionRecord {
	var out []store.DecisionRecord
	for _, d := range ds {
		if !store.SamePerson(d.Approver, me) {
			out = append(out, d)
		}
	}
	return out
}

func stamp(t time.Time) string {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, _ := t.Clock()
	if y < 0 || y > 9999 {
		return t.Format("2006-01-02 15:04 UTC")
	}
	// Written digit by digit: a list page stamps a hundred rows, and
	// Format reads its layout anew for each.
	b := [...]byte{'0', '0', '0', '0', '-', '0', '0', '-', '0', '0', ' ', '0', '0', ':', '0', '0', ' ', 'U', 'T', 'C'}
	two := func(i, v int) { b[i], b[i+1] = byte('0'+v/10), byte('0'+v%10) }
	two(0, y/100)
	two(2, y%100)
	two(5, int(mo))
	two(8, d)
	two(11, h)
	two(14, mi)
	return string(b[:])
}

// bucketsText lists a spec's scopes in short: "`bucket/prefix` (read),
// `other` (write)", each bucket/prefix quoted as the words quote it, so a
// prefix cannot pass for more scopes or words of rolegate's.
func bucketsText(spec provision.RoleSpec) string {
	parts := make([]string, 0, len(spec.Buckets))
	for _, s := range spec.Buckets {
		p := s.Bucket
		if s.Prefix != "" {
			p += "/" + s.Prefix
		}
		parts = append(parts, provision.Quoted(p)+" ("+string(s.Access)+")")
	}
	return strings.Join(parts, ", ")
}

func sessionText(secs int32) string {
	if secs == 0 {
		return "1 hour (default)"
	}
	h := secs / 3600
	if h == 1 {
		return "1 hour"
	}
	return fmt.Sprintf("%d hours", h)
}

// prettyJSON indents a policy document for reading; the document itself
// (what IAM gets) is unchanged.
func prettyJSON(doc string) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(doc), "", "  "); err != nil {
		return doc
	}
	return buf.String()
}

// riskLabels are the badges' short words for each risk code.
var riskLabels = map[string]string{
	provision.RiskWholeBucketWrite: "writes whole bucket", provision.RiskDelete: "can delete",
	provision.RiskManyBuckets: "many buckets", provision.RiskNoExpiry: "no expiry", provision.RiskLongExpiry: "long expiry",
	provision.RiskManagedPolicies: "managed policies", provision.RiskSharedBucket: "shared bucket",
	provision.RiskWidens: "widens access",
}

func riskLabel(code string) string {
	if l, ok := riskLabels[code]; ok {
		return l
	}
	return code
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func joinSemi(s []string) string { return strings.Join(s, "; ") }
