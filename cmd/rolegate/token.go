package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// parseLifetime reads 90d, 12h, 30m or "never".
func parseLifetime(s string) (time.Duration, error) {
	if s == "never" || s == "" {
		return 0, nil
	}
	d, err := parseDays(s)
	if strings.HasSuffix(s, "d") && (err != nil || d <= 0 || d > 3650*24*time.Hour) {
		return 0, fmt.Errorf("--expires: %q is not a number of days from 1 to 3650", s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--expires: %q is not a lifetime (e.g. 90d, 12h or never)", s)
	}
	return d, nil
}

func cmdToken(ctx context.Context, c cli) error {
	var (
		user, expires, description string
		roles, groups              listFlag
	)
	return runSubcommand(ctx, c, "token", "Usage: rolegate token create|list|revoke [flags]\n\n"+
		"  create --user NAME [--role requester|approver|admin]... [--group G]... [--expires 90d|12h|never] [--description TEXT]\n"+
		"         prints the token alone on the last line; it is shown only once\n"+
		"  list   [--user NAME]\n"+
		"  revoke ID\n", []subcommand{
		{name: "create", flags: func(fs *flag.FlagSet) {
			fs.StringVar(&user, "user", "", "the user the token acts as (required)")
			fs.Var(&roles, "role", "a role of the user: requester, approver or admin (repeatable; default requester)")
			fs.Var(&groups, "group", "an approver group (data owners) of the user (repeatable)")
			fs.StringVar(&expires, "expires", "90d", "lifetime: days (90d), a duration (12h) or never")
			fs.StringVar(&description, "description", "", "what the token is for, shown in lists")
		}, run: func(db *store.DB, _ []string) error {
			if user == "" {
				return fmt.Errorf("token create: --user is required")
			}
			life, err := parseLifetime(expires)
			if err != nil {
				return err
			}
			in := store.NewToken{User: user, Groups: groups, Description: description, CreatedBy: "cli"}
			for _, r := range roles {
				// Named by the flag it came from: the store's words name
				// neither.
				if !store.Role(r).Valid() {
					return fmt.Errorf("--role: %q is not a role (want %s)", r, roleChoices())
				}
				in.Roles = append(in.Roles, store.Role(r))
			}
			if life > 0 {
				t := time.Now().Add(life).UTC()
				in.ExpiresAt = &t
			}
			tok, secret, err := db.CreateToken(ctx, in)
			if err != nil {
				return err
			}
			exp := "never"
			if tok.ExpiresAt != nil {
				exp = tok.ExpiresAt.Format(time.RFC3339)
			}
			fmt.Fprintf(c.stderr, "token %d for %s (roles %s) expires %s; it is shown once, store it now\n",
				tok.ID, tok.User, roleList(tok.Roles), exp)
			fmt.Fprintln(c.stdout, secret)
			return nil
		}},
		{name: "list", flags: func(fs *flag.FlagSet) {
			fs.StringVar(&user, "user", "", "only this user's tokens")
		}, run: func(db *store.DB, _ []string) error {
			toks, err := db.ListTokens(ctx, user)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tROLES\tSTATE\tCREATED\tEXPIRES\tLAST USED\tDESCRIPTION")
			now := time.Now()
			for _, t := range toks {
				state := "active"
				if t.RevokedAt != nil {
					state = "revoked"
				} else if !t.Active(now) {
					state = "expired"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, listedText(t.User), roleList(t.Roles), state,
					t.CreatedAt.UTC().Format(time.RFC3339), timeOr(t.ExpiresAt, "never"), timeOr(t.LastUsedAt, "-"), listedText(t.Description))
			}
			return tw.Flush()
		}},
		{name: "revoke", maxArgs: 1, run: func(db *store.DB, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("token revoke: give one token ID (see `rolegate token list`)")
			}
			id, ok := store.ParseID(args[0])
			if !ok {
				return fmt.Errorf("token revoke: %q is not a token ID", args[0])
			}
			t, err := db.RevokeToken(ctx, id, "", "cli")
			if err != nil {
				return fmt.Errorf("token revoke: %w", err)
			}
			fmt.Fprintf(c.stdout, "revoked token %d of %s\n", t.ID, listedText(t.User))
			return nil
		}},
	})
}

// roleChoices lists the roles as choices: "requester, approver or admin".
func roleChoices() string {
	var names []string
	for _, r := range store.Roles() {
		names = append(names, string(r))
	}
	return orList(names)
}

func roleList(roles []store.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func timeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format(time.RFC3339)
}

// listedText is free text as a row of a list on a terminal shows it: a
// character the free-text rule refuses, in text stored before the rule,
// written out rather than sent to the terminal to obey, and line breaks
// and tabs as spaces, so the row stays one row of its columns. User names
// are written so too: they are the identity provider's, whatever it allows.
func listedText(s string) string {
	return strings.NewReplacer("\t", " ", "\r", " ", "\n", " ").Replace(provision.ShowHidden(s))
}
