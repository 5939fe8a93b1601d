package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

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

// open parses the flags of the operator command name, with extra
// registering the command's own and returning what vets them once parsed
// (nil for nothing), then connects to a database whose schema this binary
// knows. Every wrong setting is reported, one line each, before any
// connection is tried.
func (o *opsFlags) open(ctx context.Context, c cli, name, synopsis string, extra func(fs *flag.FlagSet) (check func() error)) (*store.DB, built, error) {
	var (
		errs  settingErrors
		check func() error
	)
	fs := newFlagSet(name, synopsis, c.stderr)
	o.db.register(fs, c.getenv)
	o.app.register(fs, c.getenv, &errs)
	o.log.register(fs, c.getenv)
	if extra != nil {
		check = extra(fs)
	}
	if err := parseFlagsOnly(fs, c.args); err != nil {
		return nil, built{}, err
	}
	if check != nil {
		if err := check(); err != nil {
			errs.add("%v", err)
		}
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
	if err := errs.err(); err != nil {
		return nil, built{}, err
	}
	db, err := o.db.open(ctx, store.Options{MaxConns: 4, Rules: b.rules, Settings: &b.settings, Risks: b.risks,
		JobAttempts: o.app.maxAttempts})
	if err != nil {
		return nil, built{}, err
	}
	if err := db.SchemaCurrent(ctx); err != nil {
		db.Close()
		return nil, built{}, fmt.Errorf("database: %w (run `rolegate migrate up`)", err)
	}
	if err := db.CheckAccounts(ctx); err != nil {
		db.Close()
		return nil, built{}, fmt.Errorf("--accounts-file: %w", err)
	}
	return db, b, nil
}

// cmdDrift compares every active role in IAM with its plan and prints the
// differences; with --repair it puts IAM back to the plan.
func cmdDrift(ctx context.Context, c cli) error {
	var (
		o      opsFlags
		repair bool
		fail   bool
	)
	db, b, err := o.open(ctx, c, "drift", "drift [--repair] [--fail-on-drift] [flags]", func(fs *flag.FlagSet) func() error {
		fs.BoolVar(&repair, "repair", false, "put drifted roles back to their plans")
		fs.BoolVar(&fail, "fail-on-drift", false, "exit with status 2 when any role drifted (for CI)")
		return func() error {
			// --drift-repair is the worker's setting, shared with serve
			// and worker (and its DRIFT_REPAIR may be set for them); here
			// it would silently do nothing.
			workerSetting := false
			fs.Visit(func(f *flag.Flag) { workerSetting = workerSetting || f.Name == "drift-repair" })
			if workerSetting {
				return errors.New("--drift-repair is the worker's setting (repair in every periodic check); `rolegate drift --repair` repairs now")
			}
			return nil
		}
	})
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
      version = ">= 5.0"
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
	db, b, err := o.open(ctx, c, "export-terraform", "export-terraform --dir DIR [flags]", func(fs *flag.FlagSet) func() error {
		fs.StringVar(&dir, "dir", "", "directory to write the .tf files into (created if missing)")
		return func() error {
			if dir == "" {
				return errors.New("--dir: say where to write the Terraform")
			}
			return nil
		}
	})
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
