package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/web/auth"
)

// tokenExpiry is one choice of the new token form's expiry list.
type tokenExpiry struct {
	Value, Label string
	Days         int // 0: the token does not expire
}

// tokenExpiries are the lifetimes a token may be given on the settings
// page; the command line accepts any duration.
var tokenExpiries = []tokenExpiry{
	{"30d", "30 days", 30},
	{"90d", "90 days", 90},
	{"365d", "1 year", 365},
	{"never", "Never (not recommended)", 0},
}

const defaultTokenExpiry = "90d"

// recentSignIn is how recent a browser session's sign-in must be to
// create a token with the admin role: a session cookie left in an
// unattended browser, or copied, must not mint lasting admin access.
const recentSignIn = 10 * time.Minute

// expiryChoices are the expiry options offered: no "never" to those who
// may give a token the admin role, which must expire.
func expiryChoices(admin bool) []tokenExpiry {
	if !admin {
		return tokenExpiries
	}
	return slices.DeleteFunc(slices.Clone(tokenExpiries), func(e tokenExpiry) bool { return e.Days == 0 })
}

// maxTokenGroups is the schema's cap on the groups a token carries.
const maxTokenGroups = 100

// tokenForm is the new token form as typed, with its per-field messages.
type tokenForm struct {
	Description string
	Expiry      string
	Roles       []store.Role
	Errors      map[string]string
	// Reauth: the form asks for a recent sign-in; the page offers one.
	Reauth bool
}

// tokensView is the settings page: the tokens listed, whether they are
// everyone's (admins only), the roles the viewer may give a token and the
// form.
type tokensView struct {
	Tokens  []store.Token
	All     bool
	IsAdmin bool
	Me      string
	Held    []store.Role
	Form    tokenForm
	Now     time.Time
}

// tokenCreatedView is the one page that ever shows a token's secret.
type tokenCreatedView struct {
	Token  store.Token
	Secret string
}

// handleTokens lists the signed-in user's API tokens, or everyone's for an
// admin asking with all=1, above the form for a new one.
func handleTokens(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		if err := onceEach(c.QueryParams(), "all"); err != nil {
			return err
		}
		f := tokenForm{Expiry: defaultTokenExpiry, Roles: []store.Role{leastRole(actor.Roles)}}
		return renderTokens(c, d, actor, c.QueryParam("all") == "1", f, http.StatusOK)
	}
}

func renderTokens(c echo.Context, d Deps, actor store.Actor, all bool, f tokenForm, status int) error {
	v := tokensView{All: all && actor.Has(store.RoleAdmin), IsAdmin: actor.Has(store.RoleAdmin), Me: actor.Name,
		Held: heldRoles(actor), Form: f, Now: time.Now()}
	owner := actor.Name
	if v.All {
		owner = ""
	}
	var err error
	if v.Tokens, err = d.Store.ListTokens(c.Request().Context(), owner); err != nil {
		return err
	}
	return render(c, status, tokensPage(v))
}

// handleCreateToken makes a token for the signed-in user with at most the
// roles they hold and the groups they are in, and shows its secret once.
func handleCreateToken(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		now := time.Now()
		f, in := parseTokenForm(c, actor, now)
		if signedIn := auth.ViewerOf(c.Request().Context()).SignedInAt; len(f.Errors) == 0 &&
			slices.Contains(in.Roles, store.RoleAdmin) && now.Sub(signedIn) > recentSignIn {
			f.Errors["form"] = fmt.Sprintf("You signed in more than %d minutes ago (at %s). A token with the admin role needs a recent sign-in: sign in again, then create the token.",
				int(recentSignIn.Minutes()), stamp(signedIn))
			f.Reauth = true
			return renderTokens(c, d, actor, false, f, http.StatusForbidden)
		}
		if len(f.Errors) == 0 {
			tok, secret, err := d.Store.CreateToken(c.Request().Context(), in)
			switch {
			case err == nil:
				// The secret is in this response only: keep it out of caches.
				c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
				return render(c, http.StatusCreated, tokenCreatedPage(tokenCreatedView{Token: tok, Secret: secret}))
			case errors.Is(err, store.ErrInvalid):
				_, msg, _ := userError(c, err)
				f.Errors["form"] = msg
			default:
				return err
			}
		}
		return renderTokens(c, d, actor, false, f, http.StatusUnprocessableEntity)
	}
}

// parseTokenForm validates the new token form into per-field messages and
// the token to store.
func parseTokenForm(c echo.Context, actor store.Actor, now time.Time) (tokenForm, store.NewToken) {
	f := tokenForm{Description: strings.TrimSpace(c.FormValue("description")), Expiry: c.FormValue("expiry"),
		Errors: map[string]string{}}
	switch n, fault := utf8.RuneCountInString(f.Description), store.TokenDescriptionFault(f.Description); {
	case fault != "":
		f.Errors["description"] = upperFirst(fault) + "."
	case n == 0:
		f.Errors["description"] = "Say what the token is for, e.g. “deploy pipeline”, so you recognise it later."
	case n > 200:
		f.Errors["description"] = fmt.Sprintf("Keep the description to 200 characters (it has %d).", n)
	}
	in := store.NewToken{User: actor.Name, Groups: actor.Groups, Description: f.Description, CreatedBy: actor.Name}
	i := slices.IndexFunc(tokenExpiries, func(e tokenExpiry) bool { return e.Value == f.Expiry })
	if i < 0 {
		f.Errors["expiry"] = "Choose one of the expiry options."
	} else if days := tokenExpiries[i].Days; days > 0 {
		exp := now.Add(time.Duration(days) * 24 * time.Hour).UTC()
		in.ExpiresAt = &exp
	}
	for _, r := range c.Request().Form["role"] {
		role := store.Role(r)
		switch {
		case !actor.Has(role):
			// Only a forged form gets here: the page offers held roles only.
			f.Errors["roles"] = fmt.Sprintf("You do not hold the %s role, so a token of yours cannot either.", r)
		case !slices.Contains(f.Roles, role):
			f.Roles = append(f.Roles, role)
		}
	}
	if len(f.Roles) == 0 && f.Errors["roles"] == "" {
		f.Errors["roles"] = "Choose at least one role for the token."
	}
	in.Roles = f.Roles
	if i >= 0 && in.ExpiresAt == nil && slices.Contains(in.Roles, store.RoleAdmin) {
		f.Errors["expiry"] = "A token with the admin role must expire: choose 30 days, 90 days or 1 year."
	}
	if len(actor.Groups) > maxTokenGroups {
		f.Errors["form"] = fmt.Sprintf("You are in %d groups; a token can carry at most %d. Ask an admin to create it with the command line.", len(actor.Groups), maxTokenGroups)
	}
	return f, in
}

// handleRevokeToken revokes one of the signed-in user's tokens, or any
// token for an admin. Someone else's token is not found for everybody else.
func handleRevokeToken(d Deps) echo.HandlerFunc {
	return func(c echo.Context) error {
		actor, _ := auth.ActorOf(c)
		id, ok := store.ParseID(c.Param("id"))
		if !ok {
			return store.ErrNotFound
		}
		owner := actor.Name
		if actor.Has(store.RoleAdmin) {
			owner = ""
		}
		back := auth.LocalPath(c.FormValue("return"), "/settings/tokens")
		tok, err := d.Store.RevokeToken(c.Request().Context(), id, owner, actor.Name)
		switch {
		case err == nil:
			d.Auth.ForgetAPITokens(func(t store.Token) bool { return t.ID == tok.ID })
			d.Auth.SetFlash(c, "ok", fmt.Sprintf("Token %s (%s) revoked; it no longer works.", tokenLabel(tok), provision.ShowHidden(tok.Description)))
		case errors.Is(err, store.ErrConflict):
			_, msg, _ := userError(c, err)
			d.Auth.SetFlash(c, "error", msg)
		default:
			return err
		}
		return c.Redirect(http.StatusSeeOther, back)
	}
}

// heldRoles are the viewer's roles in the order the form lists them.
func heldRoles(actor store.Actor) []store.Role {
	var out []store.Role
	for _, r := range store.Roles() {
		if actor.Has(r) {
			out = append(out, r)
		}
	}
	return out
}

// leastRole is the role a new token starts with: requester when held,
// so more power is a deliberate choice.
func leastRole(held []store.Role) store.Role {
	if slices.Contains(held, store.RoleRequester) || len(held) == 0 {
		return store.RoleRequester
	}
	return held[0]
}

// tokenLabel is how a token is named on the page: the start every copy
// of it shares, never its secret.
func tokenLabel(t store.Token) string {
	return store.TokenPrefix + strconv.FormatInt(t.ID, 10) + "_…"
}

// tokenState is a token's state in words, for the badge of its row.
func tokenState(t store.Token, now time.Time) (word, class string) {
	switch {
	case t.RevokedAt != nil:
		return "revoked", "status-revoked"
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return "expired", "status-expired"
	}
	return "active", "status-active"
}

func stampOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return stamp(*t)
}
