package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/provision/iamlocal"
	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/pglocal"
	"github.com/rolegate/rolegate/web/auth"
)

func cmdDev(ctx context.Context, c cli) error {
	var (
		r       runFlags
		dataDir string
		lock    *devLock
	)
	fs := newFlagSet("dev", "dev [flags]", c.stderr)
	fs.StringVar(&dataDir, "data-dir", envString(c.getenv, "ROLEGATE_DATA_DIR", defaultDataDir(c.getenv)),
		"where dev keeps its PostgreSQL cluster and local state between runs [ROLEGATE_DATA_DIR]")
	r.registerHTTP(fs, c.getenv, "PostgreSQL URL; when empty a private cluster is started in the data directory [DATABASE_URL]", true)
	if c.getenv("AWS_ENDPOINT_URL_IAM") == "" {
		// Dev serves its local IAM endpoint with these accounts when none
		// are configured: the approval routes are checked against them.
		r.app.defaultAccounts = devAccounts()
	}
	o, logger, err := r.parse(fs, c, "")
	if err != nil {
		return err
	}
	if abs, err := filepath.Abs(dataDir); err == nil && dataDir != "" {
		dataDir = abs
	}
	if dataDir == "" {
		r.errs.add("--data-dir / ROLEGATE_DATA_DIR: empty")
	} else if changed, err := prepareDataDir(dataDir); err != nil {
		// Before the session key below is kept in it.
		r.errs.add("--data-dir / ROLEGATE_DATA_DIR: %v", err)
	} else if l, err := lockDataDir(dataDir); err != nil {
		// Before anything in the data directory is touched: its cluster
		// and local IAM state are the running dev's.
		r.errs.add("--data-dir / ROLEGATE_DATA_DIR: %v", err)
	} else {
		lock = l
		defer lock.release()
		if changed != "" {
			logger.Info("data directory: " + changed)
		}
		o.identity = r.web.identity(dataDir, &r.errs)
	}
	if err := r.errs.err(fs); err != nil {
		return err
	}

	// Before the cluster and the local IAM endpoint start: a taken
	// address stops dev at once.
	ln, err := listenHTTP(o.server.listen, "--listen / LISTEN_ADDR")
	if err != nil {
		return err
	}
	defer ln.Close()
	o.listener = ln

	if u := o.databaseURL; u != "" && (u == pglocal.SocketURL(devClusterDir(dataDir), devDatabase) ||
		u == pglocal.SocketURL(filepath.Join(dataDir, "postgres"), devDatabase)) {
		// The URL the banner offers a second terminal, still exported
		// there when dev runs again: the cluster is dev's to start.
		logger.Info("DATABASE_URL names the private PostgreSQL of this data directory; dev runs it")
		o.databaseURL = ""
	}
	privateURL := ""
	if o.databaseURL == "" {
		url, stop, err := startDevCluster(ctx, logger, dataDir)
		if err != nil {
			return err
		}
		defer stop()
		o.databaseURL, privateURL = url, url
	}
	if c.getenv("AWS_ENDPOINT_URL_IAM") == "" {
		stop, err := startLocalIAM(ctx, logger, dataDir, o.built.settings)
		if err != nil {
			return err
		}
		defer stop()
	} else {
		logger.Info("using the IAM endpoint from AWS_ENDPOINT_URL_IAM", "endpoint", c.getenv("AWS_ENDPOINT_URL_IAM"))
	}
	if err := writeDevAccounts(dataDir, o.built.settings.Accounts); err != nil {
		return fmt.Errorf("--data-dir / ROLEGATE_DATA_DIR: %w", err)
	}
	o.http, o.worker = true, true
	o.ready = func(addr string) {
		if err := lock.record(addr); err != nil {
			logger.Warn("could not record the URL in the data directory's lock file", "err", err)
		}
		writeDevBanner(c.stdout, addr, o.identity.DevUsers, dataDir, privateURL)
	}
	return runApp(ctx, logger, o)
}

// roleDoes says what a role lets a dev user do, for the banner.
var roleDoes = map[store.Role]string{
	store.RoleRequester: "requests roles",
	store.RoleApprover:  "approves others' requests",
	store.RoleAdmin:     "administers: revokes, retries, sees everyone's tokens",
}

// writeDevBanner tells the person who ran `rolegate dev`, once it serves,
// where to go, who to sign in as and how a second terminal reaches the
// same database. privateURL is empty when DATABASE_URL was given (its
// owner knows it, and it may hold a password).
func writeDevBanner(w io.Writer, addr string, devUsers bool, dataDir, privateURL string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nrolegate dev is ready: %s\n", addr)
	if devUsers {
		b.WriteString("\nSign in as one of the dev users (switch in the page header):\n")
		for _, u := range auth.DevUserList() {
			var does []string
			for _, r := range u.Roles {
				does = append(does, roleDoes[r])
			}
			if len(u.Groups) > 0 {
				does = append(does, "approves what is routed to group "+strings.Join(u.Groups, ", "))
			}
			fmt.Fprintf(&b, "  %-6s %s\n", u.Name, strings.Join(does, "; "))
		}
	}
	if privateURL != "" {
		fmt.Fprintf(&b, "\nIn a second terminal, the one-shot commands (token, sessions, migrate, audit, drift, export-terraform)\n"+
			"find this database by themselves with the same data directory (%s); other clients can use:\n"+
			"  export DATABASE_URL='%s'\n", dataDir, privateURL)
	}
	b.WriteString("\nStop with Ctrl-C.\n\n")
	io.WriteString(w, b.String())
}

// noBinariesError is what dev says when it cannot start PostgreSQL itself:
// one line with the three ways forward.
func noBinariesError() error {
	return errors.New("no PostgreSQL server binaries found (initdb, pg_ctl, postgres on PATH or under /usr/lib/postgresql/*/bin): " +
		"install PostgreSQL (e.g. `apt install postgresql`), or run `docker compose up`, or set DATABASE_URL")
}

// startLocalIAM serves the local IAM endpoint in-process, its state kept in
// the data directory, and points the AWS SDK at it through the standard
// AWS_ENDPOINT_URL_IAM (with local credentials when none are set), so the
// worker provisions into it exactly as it would into AWS.
//
// The endpoint serves every account of set, the hub (the account reached
// without a role) first, and each spoke's provisioner role is created
// through its OrganizationAccountAccessRole, as an operator would.
func startLocalIAM(ctx context.Context, logger *slog.Logger, dataDir string, set provision.Settings) (func(), error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("--data-dir / ROLEGATE_DATA_DIR: %w", err)
	}
	hub, ids := localAccounts(set)
	srv, err := iamlocal.New(iamlocal.Options{StatePath: filepath.Join(dataDir, "iam-local.json"), Logger: logger.With("component", "iam-local"),
		Accounts: ids})
	if err != nil {
		return nil, fmt.Errorf("local IAM endpoint: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("local IAM endpoint: %w", err)
	}
	endpoint := "http://" + ln.Addr().String()
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_IAM": endpoint, "AWS_ENDPOINT_URL_STS": endpoint} {
		os.Setenv(k, v)
	}
	// The commands run beside dev (drift) reach the same endpoint, never
	// whatever AWS account the shell's credentials name.
	if err := os.WriteFile(devIAMEndpointFile(dataDir), []byte(endpoint+"\n"), 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("--data-dir / ROLEGATE_DATA_DIR: %w", err)
	}
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" && os.Getenv("AWS_PROFILE") == "" {
		os.Setenv("AWS_ACCESS_KEY_ID", "local")
		os.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	}
	if os.Getenv("AWS_REGION") == "" {
		os.Setenv("AWS_REGION", "us-east-1")
	}
	serveCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(serveCtx, ln) }()
	logger.Info("local IAM endpoint serving", "endpoint", endpoint, "state", filepath.Join(dataDir, "iam-local.json"), "accounts", ids)
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			logger.Warn("local IAM endpoint stopped with an error", "err", err)
		}
	}
	if err := bootstrapSpokes(ctx, logger, set, hub); err != nil {
		stop()
		return nil, fmt.Errorf("local IAM endpoint: %w", err)
	}
	return stop, nil
}

// devAccounts are the accounts `rolegate dev` provisions into when no
// accounts file is given: the hub, dev, reached with rolegate's own
// credentials, and a spoke, prod, reached through its provisioner role.
func devAccounts() []provision.Account {
	return []provision.Account{
		{Name: "dev", ID: "123456789012"},
		{Name: "prod", ID: "210987654321", RoleARN: "arn:aws:iam::210987654321:role/rolegate-provisioner", ExternalID: "rolegate-dev"},
	}
}

// localAccounts are the account IDs the local endpoint serves for set,
// the hub first (plain credentials act in the first), and the hub's ID.
func localAccounts(set provision.Settings) (string, []string) {
	hub := "123456789012"
	for _, a := range set.Accounts {
		if !a.Assumed() {
			hub = a.ID
			break
		}
	}
	ids := []string{hub}
	for _, a := range set.Accounts {
		if a.ID != hub {
			ids = append(ids, a.ID)
		}
	}
	return hub, ids
}

// bootstrapSpokes creates each spoke's provisioner role in the local
// endpoint (a role already there is kept), trusting the hub's root.
func bootstrapSpokes(ctx context.Context, logger *slog.Logger, set provision.Settings, hub string) error {
	cfg, err := provision.LoadAWSConfig(ctx)
	if err != nil {
		return err
	}
	for _, a := range set.Accounts {
		if !a.Assumed() {
			continue
		}
		spoke, err := provision.NewSpokeRole(set, a.Name, "arn:aws:iam::"+hub+":root", "")
		if err != nil {
			return err
		}
		created, err := provision.BootstrapSpoke(ctx, cfg, spoke, provision.ReconcilersOptions{})
		if err != nil {
			return err
		}
		if created {
			logger.Info("created the provisioner role of a local account", "account", a.Name, "role_arn", a.RoleARN)
		}
	}
	return nil
}

// startDevCluster starts dev's private PostgreSQL cluster in the data
// directory (or, where the postgres user cannot enter it, outside it with
// a link inside) and returns the URL of dev's database and how to stop the
// cluster.
func startDevCluster(ctx context.Context, logger *slog.Logger, dataDir string) (string, func(), error) {
	cluster, err := pglocal.Start(ctx, pglocal.Options{Dir: devClusterDir(dataDir), Logger: logger})
	var unreachable *pglocal.UnreachableError
	if errors.As(err, &unreachable) {
		// Root, below a directory of root's alone (a mktemp directory,
		// root's home): the cluster lives where postgres can reach it.
		dir, lerr := clusterOutside(dataDir)
		if lerr != nil {
			return "", nil, fmt.Errorf("private PostgreSQL: %w (%v)", err, lerr)
		}
		logger.Info("the postgres user cannot enter "+unreachable.Dir+"; the private cluster lives outside the data directory",
			"dir", dir, "link", filepath.Join(dataDir, "postgres"))
		cluster, err = pglocal.Start(ctx, pglocal.Options{Dir: dir, Logger: logger})
	}
	if errors.Is(err, pglocal.ErrNoBinaries) {
		return "", nil, noBinariesError()
	}
	if err != nil {
		return "", nil, fmt.Errorf("private PostgreSQL: %w", err)
	}
	stop := func() {
		if err := cluster.Stop(ctx); err != nil {
			logger.Error("stopping private PostgreSQL failed", "err", err)
		} else {
			logger.Info("private PostgreSQL stopped")
		}
	}
	if err := cluster.EnsureDatabase(ctx, devDatabase); err != nil {
		stop()
		return "", nil, fmt.Errorf("private PostgreSQL: %w", err)
	}
	return cluster.URL(devDatabase), stop, nil
}
