package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/auth"
)

// pageSize is the number of requests per page of every list.
const pageSize = 50

// dashboardView is the approver dashboard: filters, one page of requests,
// what the approver may do to each, and the counts per status.
type dashboardView struct {
	Status, Requester, Bucket, Text, Cursor string
	// Account keeps the requests into one account; Accounts are those to
	// choose from, none when there is only one (no filter or column).
	Account  string
	Accounts []string
	// Risk keeps the requests flagged with one risk code.
	Risk string
	Page store.RequestPage
	// Assessed holds each listed request's words and risk flags.
	Assessed map[int64]store.Assessment
	Counts   map[store.Status]int
	Acts     map[int64]store.Actions
	Progress map[int64]store.Progress
	Me       string
	Here     string
	// Decide is a decide form that came back with errors.
	Decide decideInput
	// ReviewsDue counts the access reviews past their due date, shown to
	// admins (-1: not shown).
	ReviewsDue int
}

// query returns the dashboard's filters as a query string, with extra
// parameters set (an empty value removes one).
func (v dashboardView) query(extra ...string) string {
	q := url.Values{}
	for k, val := range map[string]string{"status": v.Status, "requester": v.Requester, "bucket": v.Bucket, "account": v.Account, "q": v.Text, "risk": v.Risk} {
		if val != "" {
			q.Set(k, val)
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			q.Del(extra[i])
		} else {
			q.Set(extra[i], extra[i+1])
		}
	}
	return "/dashboard?" + q.Encode()
}

// handleDashboard is the approvers' queue: pending requests oldest first
// by default, any status newest first, filtered and keyset-paged so deep
// pages of a large table cost the same as the first.
func handleDashboard(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		v, err := loadDashboard(c, d, actor, c.QueryParams(), c.Request().URL.RequestURI())
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, dashboardPage(v))
	}
}

// loadDashboard gathers the dashboard for the filters of q; here is the
// dashboard's own address, where its decide forms come back to.
func loadDashboard(c echo.Context, d Deps, actor store.Actor, q url.Values, here string) (dashboardView, error) {
	if err := onceEach(q, "status", "requester", "bucket", "account", "q", "risk", "cursor"); err != nil {
		return dashboardView{}, err
	}
	v := dashboardView{
		Status: q.Get("status"), Requester: strings.TrimSpace(q.Get("requester")),
		Bucket: strings.TrimSpace(q.Get("bucket")), Text: strings.TrimSpace(q.Get("q")),
		Cursor: q.Get("cursor"), Me: actor.Name, Here: here, Risk: strings.TrimSpace(q.Get("risk")),
		Account: q.Get("account"),
	}
	if names := d.Settings.AccountNames(); len(names) > 1 {
		v.Accounts = names
	}
	if err := knownAccount(d.Settings, v.Account); err != nil {
		return dashboardView{}, err
	}
	if _, set := q["status"]; !set {
		v.Status = string(store.StatusPending)
	}
	if v.Status == "all" {
		v.Status = ""
	}
	ctx := c.Request().Context()
	var err error
	f := store.ListFilter{
		Status: store.Status(v.Status), Requester: v.Requester, Bucket: v.Bucket, Text: v.Text, Account: v.Account,
		Cursor: v.Cursor, Limit: pageSize, OldestFirst: v.Status == string(store.StatusPending),
	}
	// A data owner who is not an approver sees only what is routed to them.
	if !actor.Has(store.RoleApprover) && !actor.Has(store.RoleAdmin) {
		f.DecidableBy = &actor
	}
	v.Page, v.Assessed, err = d.Store.ListAssessed(ctx, actor, f, v.Risk)
	if err != nil {
		return dashboardView{}, err
	}
	if f.DecidableBy != nil {
		v.Counts, err = d.Store.CountRoutedByStatus(ctx, actor)
	} else {
		v.Counts, err = d.Store.CountByStatus(ctx)
	}
	if err != nil {
		return dashboardView{}, err
	}
	v.ReviewsDue = -1
	if actor.Has(store.RoleAdmin) && d.Store.Reviews().On() {
		if v.ReviewsDue, err = d.Store.CountDueReviews(ctx); err != nil {
			return dashboardView{}, err
		}
	}
	v.Acts = make(map[int64]store.Actions, len(v.Page.Requests))
	v.Progress = make(map[int64]store.Progress, len(v.Page.Requests))
	for _, r := range v.Page.Requests {
		v.Acts[r.ID] = d.Store.Allowed(actor, r)
		v.Progress[r.ID] = d.Store.Progress(r)
	}
	if v.Status == "" {
		v.Status = "all"
	}
	return v, nil
}

// onceEach refuses, with 422 as an invalid filter value is, a query that
// gives one of the list parameters names more than once. Each takes one
// value: reading the first (?account=dev&account=prod) would list what the
// address does not say.
func onceEach(q url.Values, names ...string) error {
	for _, name := range names {
		if n := len(q[name]); n > 1 {
			return echo.NewHTTPError(http.StatusUnprocessableEntity,
				fmt.Sprintf("Give %s once: the address gives it %d times, and a list takes one value of each parameter.", name, n))
		}
	}
	return nil
}

// knownAccount refuses, with 422 (as an unknown status or risk is) and
// the accounts there are, a filter naming an account that is not
// configured ("" filters nothing).
func knownAccount(set provision.Settings, name string) error {
	if name == "" || slices.Contains(set.AccountNames(), name) {
		return nil
	}
	return echo.NewHTTPError(http.StatusUnprocessableEntity,
		fmt.Sprintf("There is no account named %q; the accounts are %s.", name, strings.Join(set.AccountNames(), ", ")))
}

// handleMyRequests lists the signed-in user's own requests, newest first.
func handleMyRequests(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		if err := onceEach(c.QueryParams(), "cursor", "account"); err != nil {
			return err
		}
		v := myRequestsView{Account: c.QueryParam("account"), Paged: c.QueryParam("cursor") != ""}
		if err := knownAccount(d.Settings, v.Account); err != nil {
			return err
		}
		if names := d.Settings.AccountNames(); len(names) > 1 {
			v.Accounts = names
		}
		var err error
		v.Page, err = d.Store.ListRequests(c.Request().Context(), store.ListFilter{
			Requester: actor.Name, Account: v.Account, Cursor: c.QueryParam("cursor"), Limit: pageSize})
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, myRequestsPage(v))
	}
}

// myRequestsView is one page of the user's own requests, with the account
// filter (Accounts: the accounts to choose from, when there are several).
type myRequestsView struct {
	Page     store.RequestPage
	Paged    bool
	Account  string
	Accounts []string
}

// base is the page's address with its filter, for the pager.
func (v myRequestsView) base() string {
	if v.Account == "" {
		return "/requests"
	}
	return "/requests?" + url.Values{"account": {v.Account}}.Encode()
}

// handleRoles lists the active roles with their ARNs, expiry and drift.
func handleRoles(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := onceEach(c.QueryParams(), "cursor"); err != nil {
			return err
		}
		page, err := d.Store.ListActiveRoles(c.Request().Context(), c.QueryParam("cursor"), pageSize)
		if err != nil {
			return err
		}
		return render(c, http.StatusOK, rolesPage(page, c.QueryParam("cursor") != "", len(d.Settings.Accounts) > 1))
	}
}

// auditView is one page of the audit log and its filters as typed.
type auditView struct {
	Actor, Kind, Request, Since, Until string
	Events                             []store.Event
	Next, First                        string
	// Errors holds each filter's problem by its parameter (request,
	// since, until), shown at its field.
	Errors map[string]string
	// Accounts is whether more than one account is configured: only
	// then is each event's account shown.
	Accounts bool
}

const auditPageSize = 100

// handleAudit shows the audit trail, newest first, filtered by actor,
// kind, request and date range, paged before the last (oldest) event shown.
func handleAudit(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := onceEach(c.QueryParams(), "actor", "kind", "request", "since", "until", "before"); err != nil {
			return err
		}
		v := auditView{Actor: strings.TrimSpace(c.QueryParam("actor")), Kind: strings.TrimSpace(c.QueryParam("kind")),
			Request: strings.TrimSpace(c.QueryParam("request")), Since: c.QueryParam("since"), Until: c.QueryParam("until"),
			Accounts: len(d.Settings.Accounts) > 1}
		f := store.EventFilter{Actor: v.Actor, Kind: v.Kind, Limit: auditPageSize, NewestFirst: true}
		bad := map[string]string{}
		if v.Request != "" {
			id, err := strconv.ParseInt(strings.TrimPrefix(v.Request, "#"), 10, 64)
			if err != nil || id <= 0 {
				bad["request"] = "request must be a request number"
			}
			f.RequestID = id
		}
		if v.Since != "" {
			t, err := time.Parse(time.DateOnly, v.Since)
			if err != nil {
				bad["since"] = "from must be a date like 2030-01-31"
			}
			f.Since = t
		}
		if v.Until != "" {
			t, err := time.Parse(time.DateOnly, v.Until)
			if err != nil {
				bad["until"] = "to must be a date like 2030-01-31"
			}
			f.Until = t.Add(24 * time.Hour)
		}
		if before := c.QueryParam("before"); before != "" {
			id, err := strconv.ParseInt(before, 10, 64)
			if err != nil || id < 0 {
				return echo.NewHTTPError(http.StatusBadRequest, "That page link is broken; start from the first page.")
			}
			f.BeforeID = id
			q := c.QueryParams()
			q.Del("before")
			v.First = "/audit?" + q.Encode()
		}
		status := http.StatusOK
		if len(bad) > 0 {
			v.Errors, status = bad, http.StatusUnprocessableEntity
			return render(c, status, auditPage(v))
		}
		events, err := d.Store.ListEvents(c.Request().Context(), f)
		if err != nil {
			return err
		}
		v.Events = events
		if len(events) == auditPageSize {
			q := c.QueryParams()
			q.Set("before", strconv.FormatInt(events[len(events)-1].ID, 10))
			v.Next = "/audit?" + q.Encode()
		}
		return render(c, status, auditPage(v))
	}
}

// eventData is an audit row's details in rolegate's words, l being the
// event described (the page shows its quote apart, before them); a
// provisioning step names its resource and what was done first, as the
// bare ARN is the same for a role and its inline policy.
// A change's policy diff gives its changed lines only (changedLines): its
// hunks, shown whole on the request's timeline, do not fit a row.
func eventData(e store.Event, l eventLine) string {
	if e.Kind == store.EventProvisionStep {
		return strings.Join(slices.Concat([]string{l.Title}, l.Detail, changedLines(l.PolicyDiff)), " · ")
	}
	return strings.Join(slices.Concat(l.Detail, changedLines(l.PolicyDiff)), " · ")
}

// changedLines are the added and removed lines of a diff, each with its
// mark and its text without the indentation: "+ "s3:PutObject",".
func changedLines(diff []string) []string {
	var out []string
	for _, l := range diff {
		if mark, text, ok := strings.Cut(l, " "); ok && (mark == "+" || mark == "-") {
			out = append(out, mark+" "+strings.TrimSpace(text))
		}
	}
	return out
}

// diffLineClass is the class policyDiffCode gives a line of a diff by its
// mark: added, removed, or a hunk's header; none for an unchanged line.
func diffLineClass(line string) string {
	switch {
	case strings.HasPrefix(line, "+ "):
		return "add"
	case strings.HasPrefix(line, "- "):
		return "del"
	case strings.HasPrefix(line, "@@ "):
		return "hunk"
	}
	return ""
}

func current(on bool) string {
	if on {
		return "page"
	}
	return "false"
}

// withCursor is base, an address with or without a query, asking for the
// page after cursor.
func withCursor(base, cursor string) string {
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "cursor=" + url.QueryEscape(cursor)
}
