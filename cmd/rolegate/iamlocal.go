package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rolegate/rolegate/provision/iamlocal"
)

// iamLocalConfig is what `rolegate iam-local` is started with.
type iamLocalConfig struct {
	listen string
	opts   iamlocal.Options
}

// parseIAMLocal reads the flags of iam-local, each falling back to its
// IAM_LOCAL_* environment variable. It returns flag.ErrHelp for --help and
// one error line per wrong value.
func parseIAMLocal(c cli) (iamLocalConfig, error) {
	var (
		cfg  iamLocalConfig
		errs settingErrors
	)
	fs := newAboutFlagSet("iam-local", "iam-local [flags]", "Serve the local IAM endpoint (IAM Query API, STS GetCallerIdentity and AssumeRole).\nPoint clients at it with AWS_ENDPOINT_URL_IAM=http://<listen> (and AWS_ENDPOINT_URL_STS).", c.stderr)
	envDuration := func(name string) time.Duration {
		return envValue(c.getenv, name, 0, &errs, "a duration (like 250ms or 10s)", time.ParseDuration)
	}
	envFloat := func(name string) float64 {
		return envValue(c.getenv, name, 0, &errs, "a number", func(v string) (float64, error) { return strconv.ParseFloat(v, 64) })
	}
	env := func(name, def string) string { return envString(c.getenv, name, def) }
	fs.StringVar(&cfg.listen, "listen", env("IAM_LOCAL_LISTEN", "127.0.0.1:4566"), "address to listen on [IAM_LOCAL_LISTEN]")
	fs.StringVar(&cfg.opts.StatePath, "state", env("IAM_LOCAL_STATE", ""), "JSON `file` to load state from and save it to; empty keeps it in memory [IAM_LOCAL_STATE]")
	fs.DurationVar(&cfg.opts.Latency, "latency", envDuration("IAM_LOCAL_LATENCY"), "latency added to every call [IAM_LOCAL_LATENCY]")
	fs.DurationVar(&cfg.opts.ConsistencyDelay, "consistency-delay", envDuration("IAM_LOCAL_CONSISTENCY_DELAY"), "how long new roles and instance profiles stay invisible to reads [IAM_LOCAL_CONSISTENCY_DELAY]")
	fs.Float64Var(&cfg.opts.ThrottleRate, "throttle-rate", envFloat("IAM_LOCAL_THROTTLE_RATE"), "probability (0..1) that a call fails with Throttling [IAM_LOCAL_THROTTLE_RATE]")
	fs.Float64Var(&cfg.opts.FailureRate, "failure-rate", envFloat("IAM_LOCAL_FAILURE_RATE"), "probability (0..1) that a call fails with ServiceFailure [IAM_LOCAL_FAILURE_RATE]")
	fs.Int64Var(&cfg.opts.Seed, "seed", envValue(c.getenv, "IAM_LOCAL_SEED", 0, &errs, "an integer", func(v string) (int64, error) { return strconv.ParseInt(v, 10, 64) }), "seed of the fault probabilities [IAM_LOCAL_SEED]")
	fs.StringVar(&cfg.opts.AccountID, "account-id", env("IAM_LOCAL_ACCOUNT_ID", "123456789012"), "12-digit account ID in ARNs [IAM_LOCAL_ACCOUNT_ID]")
	var accounts string
	fs.StringVar(&accounts, "accounts", env("IAM_LOCAL_ACCOUNTS", ""), "comma-separated 12-digit `IDs` of the accounts served, each with its own IAM state; plain credentials act in the first; empty means just --account-id [IAM_LOCAL_ACCOUNTS]")
	if err := parseFlagsOnly(fs, c.args); err != nil {
		return cfg, err
	}
	accountIDSet := c.getenv("IAM_LOCAL_ACCOUNT_ID") != ""
	fs.Visit(func(f *flag.Flag) { accountIDSet = accountIDSet || f.Name == "account-id" })
	cfg.opts.Accounts = parseAccounts(accounts, &errs)
	if id := cfg.opts.AccountID; len(cfg.opts.Accounts) == 0 && (len(id) != 12 || strings.Trim(id, "0123456789") != "") {
		errs.add("--account-id / IAM_LOCAL_ACCOUNT_ID: %q is not a 12-digit account ID", id)
	}
	if path := cfg.opts.StatePath; path != "" {
		// Checked now: the endpoint would otherwise serve, apply every
		// write in memory and answer it ServiceFailure, the state never
		// saved.
		if dir := filepath.Dir(path); !isDir(dir) {
			errs.add("--state / IAM_LOCAL_STATE: the directory %s does not exist; create it, or name a file in a directory that does", dir)
		}
	}
	if len(cfg.opts.Accounts) > 0 {
		if accountIDSet && cfg.opts.AccountID != cfg.opts.Accounts[0] {
			errs.add("--account-id: %s is not the first of --accounts (%s)", cfg.opts.AccountID, cfg.opts.Accounts[0])
		}
		cfg.opts.AccountID = cfg.opts.Accounts[0]
	}
	if r := cfg.opts.ThrottleRate; r < 0 || r > 1 {
		errs.add("--throttle-rate: %v is not within 0..1", r)
	}
	if r := cfg.opts.FailureRate; r < 0 || r > 1 {
		errs.add("--failure-rate: %v is not within 0..1", r)
	}
	if cfg.opts.Latency < 0 {
		errs.add("--latency: must not be negative")
	}
	if cfg.opts.ConsistencyDelay < 0 {
		errs.add("--consistency-delay: must not be negative")
	}
	if err := errs.err(fs); err != nil {
		return cfg, errors.New("iam-local: " + strings.ReplaceAll(err.Error(), "\n", "\niam-local: "))
	}
	return cfg, nil
}

// isDir reports whether path names a directory.
func isDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// parseAccounts reads --accounts: comma-separated 12-digit account IDs,
// none twice. It adds one error per wrong ID to errs.
func parseAccounts(v string, errs *settingErrors) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	var ids []string
	for id := range strings.SplitSeq(v, ",") {
		id = strings.TrimSpace(id)
		switch {
		case len(id) != 12 || strings.Trim(id, "0123456789") != "":
			errs.add("--accounts: %q is not a 12-digit account ID", id)
		case slices.Contains(ids, id):
			errs.add("--accounts: %s is named twice", id)
		default:
			ids = append(ids, id)
		}
	}
	return ids
}

// cmdIAMLocal serves the local IAM endpoint until ctx is done, then shuts
// it down gracefully. It returns the configuration, listen or serve error.
func cmdIAMLocal(ctx context.Context, c cli) error {
	cfg, err := parseIAMLocal(c)
	if err != nil {
		return err
	}
	cfg.opts.Logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := iamlocal.New(cfg.opts)
	if err != nil {
		return fmt.Errorf("iam-local: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("iam-local: %w", err)
	}
	fmt.Fprintf(c.stdout, "iam-local listening on http://%s\n", ln.Addr())
	return srv.Serve(ctx, ln)
}
