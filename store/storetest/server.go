package storetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"

	"github.com/rolegate/rolegate/store/pglocal"
)

// postgresImage is the server the container path runs.
const postgresImage = "postgres:17-alpine"

// findServer returns an admin URL of a PostgreSQL server and how to stop
// it: TEST_DATABASE_URL, else a container, else a private local cluster.
func findServer(ctx context.Context) (string, func(), error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u, func() {}, nil
	}
	var dockerErr error
	if dockerLikely() {
		u, stop, err := startContainer(ctx)
		if err == nil {
			return u, stop, nil
		}
		dockerErr = err
	}
	u, stop, err := startLocal(ctx)
	if err == nil {
		return u, stop, nil
	}
	msg := "no PostgreSQL for the tests. Either set TEST_DATABASE_URL to an admin URL " +
		"(e.g. postgres://postgres@127.0.0.1:5432/postgres), or run a Docker daemon (testcontainers-go " +
		"starts " + postgresImage + "), or install the PostgreSQL server binaries (initdb, pg_ctl, postgres)"
	if dockerErr != nil {
		msg += fmt.Sprintf("; Docker: %v", dockerErr)
	}
	return "", nil, fmt.Errorf("%s; local cluster: %w", msg, err)
}

// dockerLikely avoids asking testcontainers to look for a daemon (and log
// about it) on machines that plainly have none.
func dockerLikely() bool {
	if os.Getenv("DOCKER_HOST") != "" {
		return true
	}
	candidates := []string{"/var/run/docker.sock"}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".docker", "run", "docker.sock"))
	}
	if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
		candidates = append(candidates, filepath.Join(rt, "docker.sock"))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return true
		}
	}
	return false
}

func startContainer(ctx context.Context) (url string, stop func(), err error) {
	defer func() {
		if r := recover(); r != nil { // testcontainers panics on some broken setups
			err = fmt.Errorf("testcontainers: %v", r)
		}
	}()
	c, err := tcpostgres.Run(ctx, postgresImage,
		tcpostgres.WithDatabase("postgres"), tcpostgres.WithUsername("postgres"), tcpostgres.WithPassword("postgres"),
		tcpostgres.BasicWaitStrategies())
	if err != nil {
		return "", nil, err
	}
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		testcontainers.TerminateContainer(c, testcontainers.StopContext(ctx)) //nolint:errcheck // best effort; the reaper removes it too
	}
	url, err = c.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		stop()
		return "", nil, err
	}
	return url, stop, nil
}

func startLocal(ctx context.Context) (string, func(), error) {
	if _, err := pglocal.FindBinaries(nil, nil); err != nil {
		return "", nil, err
	}
	// Not t.TempDir: the directory must outlive any one test and, when the
	// tests run as root, be handed to the postgres user.
	dir, err := os.MkdirTemp("", "rolegate-pg-")
	if err != nil {
		return "", nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", nil, err
	}
	cluster, err := pglocal.Start(ctx, pglocal.Options{Dir: filepath.Join(dir, "data"), Ephemeral: true})
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop := func() {
		err := cluster.Stop(context.Background())
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			os.RemoveAll(dir)
		}
	}
	return cluster.URL("postgres"), stop, nil
}
