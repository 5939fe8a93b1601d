package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/rolegate/rolegate/store"
)

// cmdSessions lists browser sessions and ends a user's: the operator's
// way in when no admin can (or should) use the sessions page, e.g. when an
// admin's own browser was compromised.
func cmdSessions(ctx context.Context, c cli) error {
	var user string
	return runSubcommand(ctx, c, "sessions", "Usage: rolegate sessions list|end [flags]\n\n"+
		"  list [--user NAME]   the signed-in browser sessions\n"+
		"  end  --user NAME     sign every browser of NAME out, on every instance, at once\n", []subcommand{
		{name: "list", flags: func(fs *flag.FlagSet) {
			fs.StringVar(&user, "user", "", "only this user's sessions")
		}, run: func(db *store.DB, _ []string) error {
			list, err := db.ListSessions(ctx, user, 10_000)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "USER\tSIGNED IN\tENDS")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", listedText(s.User), s.SignedInAt.UTC().Format(time.RFC3339), s.ExpiresAt.UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		}},
		{name: "end", flags: func(fs *flag.FlagSet) {
			fs.StringVar(&user, "user", "", "the user whose sessions end (required)")
		}, run: func(db *store.DB, _ []string) error {
			if user == "" {
				return fmt.Errorf("sessions end: --user is required")
			}
			n, err := db.EndUserSessions(ctx, user, "cli")
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "ended %d sessions of %s\n", n, user)
			return nil
		}},
	})
}
