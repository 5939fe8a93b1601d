package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/worker"
	"github.com/rolegate/rolegate/store"
)

// opsFlags are what the one-shot operator commands need: the database and
// the guardrails the plans are built with.
type opsFlags struct {
	db  dbFlag
	app appSettings
	log logSettings
}

// parse parses the flags of the operator command name, with extra
// registering the command's own (reading their environment fallbacks
// into errs) and returning what vets them once parsed (nil for nothing).
// It returns the settings the plans are built with, or every wrong
// setting, one line each, before any connection is tried.
func (o *opsFlags) parse(c cli, name, synopsis string, extra func(fs *flag.FlagSet, errs *settingErrors) (check func())) (built, error) {
	var (
		errs  settingErrors
		check func()
	)
	fs := newFlagSet(name, synopsis, c.stderr)
	o.db.register(fs, c.getenv)
	o.app.register(fs, c.getenv, &errs)
	o.log.register(fs, c.getenv)
	if extra != nil {
		check = extra(fs, &errs)
	}
	if err := parseFlagsOnly(fs, c.args); err != nil {
		return built{}, err
	}
	if check != nil {
		check()
	}
	o.db.check(&errs)
	b := o.app.build(&errs)
	if o.db.dev && len(b.settings.Accounts) == 0 {
		// The dev cluster's requests live in the accounts that dev runs
		// with; a command beside it works in the same ones.
		accts, err := devAccountsOf(o.db.dataDir)
		if err != nil {
			errs.add("%v", err)
		}
		b.settings.Accounts = accts
		b.rules.Accounts = accts
	}
	o.log.logger(c.stderr, &errs)
	if err := errs.err(fs); err != nil {
		return built{}, err
	}
	return b, nil
}

// open connects to the database of parsed settings b and returns it, or
// an error when it cannot be reached, has a schema this binary does not
// know, or holds requests in accounts b does not name.
func (o *opsFlags) open(ctx context.Context, b built) (*store.DB, error) {
	db, err := o.db.open(ctx, store.Options{MaxConns: 4, Rules: b.rules, Settings: &b.settings, Risks: b.risks,
		JobAttempts: o.app.maxAttempts})
	if err != nil {
		return nil, err
	}
	if err := db.SchemaCurrent(ctx); err != nil {
		db.Close()
		return nil, schemaError(err)
	}
	if err := db.CheckAccounts(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("--accounts-file: %w", err)
	}
	return db, nil
}

// defaultDriftTimeout bounds `rolegate drift`: far more than a bulk check
// of many thousand roles takes, yet a run stuck on an endpoint that never
// answers ends the same working day.
const defaultDriftTimeout = 30 * time.Minute

// cmdDrift compares every active role in IAM with its plan and prints the
// differences; with --repair it puts IAM back to the plan. The whole run
// is bounded by --timeout, after which it fails saying so.
func cmdDrift(ctx context.Context, c cli) error {
	var (
		o       opsFlags
		repair  bool
		fail    bool
		timeout time.Duration
	)
	b, err := o.parse(c, "drift", "drift [--repair] [--fail-on-drift] [--timeout DURATION] [flags]", func(fs *flag.FlagSet, errs *settingErrors) func() {
		fs.BoolVar(&repair, "repair", false, "put drifted roles back to their plans")
		fs.BoolVar(&fail, "fail-on-drift", false, "exit with status 2 when any role drifted (for CI)")
		fs.DurationVar(&timeout, "timeout", envDuration(c.getenv, "DRIFT_TIMEOUT", defaultDriftTimeout, errs),
			"longest the whole check may take, repairs included; 0: no limit [DRIFT_TIMEOUT]")
		return func() {
			// --drift-repair is the worker's setting, shared with serve
			// and worker (and its DRIFT_REPAIR may be set for them); here
			// it would silently do nothing.
			workerSetting := false
			fs.Visit(func(f *flag.Flag) { workerSetting = workerSetting || f.Name == "drift-repair" })
			if workerSetting {
				errs.add("--drift-repair is the worker's setting (repair in every periodic check); `rolegate drift --repair` repairs now")
			}
			if timeout < 0 {
				errs.add("--timeout / DRIFT_TIMEOUT: %s is negative (0: no limit)", timeout)
			}
		}
	})
	if err != nil {
		return err
	}
	if timeout == 0 {
		return checkDrift(ctx, c, &o, b, repair, fail)
	}
	expired := fmt.Errorf("drift: stopped after --timeout %s: IAM or the database did not answer in time; "+
		"any drift printed above was found before then (raise --timeout / DRIFT_TIMEOUT, or 0 for no limit)", timeout)
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, expired)
	defer cancel()
	err = checkDrift(ctx, c, &o, b, repair, fail)
	var exit errExitCode
	if err != nil && !errors.As(err, &exit) && context.Cause(ctx) == expired {
		// Whatever gave up first (the SDK, the rate limiter, pgx) says
		// so in its own words; the deadline is the cause.
		return expired
	}
	return err
}

// checkDrift is the work of `rolegate drift` once its flags are parsed:
// it connects, checks (and with repair puts back) every active role and
// prints what drifted. It returns the first error, an account that could
// not be read after the others are printed, or exit status 2 for drift
// with fail.
func checkDrift(ctx context.Context, c cli, o *opsFlags, b built, repair, fail bool) error {
	db, err := o.open(ctx, b)
	if err != nil {
		return err
	}
	defer db.Close()
	var local []func(*config.LoadOptions) error
	if o.db.dev {
		if local, err = devAWS(o.db.dataDir, c.getenv); err != nil {
			return err
		}
	}
	recs, err := provision.LoadReconcilers(ctx, b.settings, provision.ReconcilersOptions{Client: provision.ClientOptions{RatePerSecond: o.app.iamRate}}, local...)
	if err != nil {
		return fmt.Errorf("AWS: %w", err)
	}
	if err := recs.CheckHub(ctx); err != nil {
		return fmt.Errorf("AWS: %w", err)
	}
	// An account that cannot be read fails the command, after what the
	// others showed (and what was repaired there) is printed.
	found, checkErr := worker.CheckDrift(ctx, db, recs, b.settings, repair)
	if len(found) == 0 && checkErr != nil {
		return checkErr
	}
	if len(found) == 0 {
		fmt.Fprintln(c.stdout, "no drift: every active role matches its plan")
		return nil
	}
	for _, d := range found {
		state := "drifted"
		if d.Repaired {
			state = "repaired"
		}
		where := ""
		if len(b.settings.Accounts) > 1 {
			where = " in account " + d.Account
		}
		fmt.Fprintf(c.stdout, "request %d, role %s%s: %s\n", d.RequestID, d.RoleName, where, state)
		for _, ch := range d.Changes {
			fmt.Fprintf(c.stdout, "  %s\n", ch)
		}
	}
	if checkErr != nil {
		return checkErr
	}
	if fail && !repair {
		return errExitCode{code: 2, err: fmt.Errorf("%d role(s) drifted", len(found))}
	}
	return nil
}

// errExitCode asks main for a particular exit status.
type errExitCode struct {
	code int
	err  error
}

func (e errExitCode) Error() string { return e.err.Error() }

// providerRequirements is written beside the exported roles so the
// directory is a module `terraform init` accepts.
const providerRequirements = `terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.72"
    }
  }
}
`

// cmdExportTerraform writes the stored Terraform of every active role's
// live version, one file per role, for the audit team.
func cmdExportTerraform(ctx context.Context, c cli) error {
	var (
		o   opsFlags
		dir string
	)
	b, err := o.parse(c, "export-terraform", "export-terraform --dir DIR [flags]", func(fs *flag.FlagSet, errs *settingErrors) func() {
		fs.StringVar(&dir, "dir", "", "directory to write the .tf files into (created if missing)")
		return func() {
			if dir == "" {
				errs.add("--dir: say where to write the Terraform")
			}
		}
	})
	if err != nil {
		return err
	}
	db, err := o.open(ctx, b)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--dir: %w", err)
	}
	files, err := exportProviders(b.settings)
	if err != nil {
		return err
	}
	fixed := len(files)
	// Every role live in IAM, also one with a change under way, as its live
	// version's stored Terraform: what IAM holds, not what was asked since.
	for after := int64(0); ; {
		page, err := db.ListLiveRoles(ctx, after, 100)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			after = r.ID
			versions, err := db.ListVersions(ctx, r.ID)
			if err != nil {
				return err
			}
			v, ok := store.LiveVersion(r, versions)
			if !ok || v.Terraform == "" {
				continue
			}
			if err := providersKnown(v.Terraform, b.settings); err != nil {
				return fmt.Errorf("role %s (request %d): %w; nothing was written", v.Spec.Name, r.ID, err)
			}
			files = append(files, exportFile{name: roleFileName(r.ID, r.Spec.Name), text: []byte(v.Terraform)})
		}
	}
	n, err := writeExport(dir, files)
	if err != nil {
		return err
	}
	names := make([]string, fixed)
	for i, f := range files[:fixed] {
		names[i] = f.name
	}
	fmt.Fprintf(c.stdout, "wrote %d role(s) and %s to %s\n", n-fixed, strings.Join(names, " and "), dir)
	return nil
}
