package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/rolegate/rolegate/store"
)

// orList joins words as a person lists choices: "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// openVerb parses the flags of a one-shot command that takes exactly one
// verb out of verbs (`audit verify`, `migrate up|status`) and opens its
// database, whatever its schema (migrate is what makes it current). A
// missing or unknown verb prints the usage and returns an error naming the
// verbs; a wrong setting returns one line per wrong value.
func (d *dbFlag) openVerb(ctx context.Context, c cli, name, synopsis string, verbs ...string) (db *store.DB, verb string, logger *slog.Logger, err error) {
	var (
		errs settingErrors
		logs logSettings
	)
	fs := newFlagSet(name, synopsis, c.stderr)
	d.register(fs, c.getenv)
	logs.register(fs, c.getenv)
	args, err := parseArgs(fs, c.args)
	if err != nil {
		return nil, "", nil, err
	}
	if len(args) == 0 || !slices.Contains(verbs, args[0]) {
		fs.Usage()
		quoted := make([]string, len(verbs))
		for i, v := range verbs {
			quoted[i] = "`" + v + "`"
		}
		return nil, "", nil, fmt.Errorf("%s: say %s", name, orList(quoted))
	}
	if len(args) > 1 {
		return nil, "", nil, unexpectedArgument(name+" "+args[0], args[1])
	}
	d.check(&errs)
	logger = logs.logger(c.stderr, &errs)
	if err := errs.err(fs); err != nil {
		return nil, "", nil, err
	}
	db, err = d.open(ctx, store.Options{})
	if err != nil {
		return nil, "", nil, err
	}
	return db, args[0], logger, nil
}

// subcommand is one verb of a command with verbs (`token create`,
// `sessions end`): flags registers the verb's own flags (nil for none),
// run does its work once the flags are parsed and the database is open,
// with the verb's arguments, at most maxArgs of them.
type subcommand struct {
	name    string
	flags   func(fs *flag.FlagSet)
	maxArgs int
	run     func(db *store.DB, args []string) error
}

// subcommandDBUsage ends the usage of every command runSubcommand runs:
// each of its verbs takes the database flag runSubcommand registers.
const subcommandDBUsage = "Each takes --database-url [DATABASE_URL]; without it, the database of a running `rolegate dev`\n" +
	"with the same --data-dir [ROLEGATE_DATA_DIR].\n"

// runSubcommand runs the verb named by the first argument: with none (or
// help) it prints usage (the verbs), then subcommandDBUsage, to stdout;
// otherwise it parses the verb's flags and --database-url, opens a
// database whose schema this binary knows and runs the verb. It returns flag.ErrHelp for help, an error naming the
// verbs for a missing or unknown one, or the verb's error.
func runSubcommand(ctx context.Context, c cli, name, usage string, subs []subcommand) error {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.name
	}
	if len(c.args) == 0 || c.args[0] == "-h" || c.args[0] == "--help" || c.args[0] == "help" {
		fmt.Fprint(c.stdout, usage+"\n"+subcommandDBUsage)
		if len(c.args) == 0 {
			return fmt.Errorf("%s: say %s", name, orList(names))
		}
		return flag.ErrHelp
	}
	verb, args := c.args[0], c.args[1:]
	i := slices.Index(names, verb)
	if i < 0 {
		return fmt.Errorf("%s: unknown subcommand %q (want %s)", name, verb, orList(names))
	}
	var dbf dbFlag
	fs := newFlagSet(name+" "+verb, name+" "+verb+" [flags]", c.stderr)
	dbf.register(fs, c.getenv)
	if subs[i].flags != nil {
		subs[i].flags(fs)
	}
	args, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(args) > subs[i].maxArgs {
		return unexpectedArgument(name+" "+verb, args[subs[i].maxArgs])
	}
	db, err := dbf.openCurrent(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return subs[i].run(db, args)
}
