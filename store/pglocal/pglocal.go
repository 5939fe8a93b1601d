// Package pglocal runs a private PostgreSQL cluster from the server
// binaries installed on the machine: `rolegate dev` keeps its data in one,
// and the test harness starts a throwaway one when no database is given.
//
// The cluster listens on a Unix socket only, inside its own data directory,
// with trust authentication; the directory is readable by its owner alone,
// so nobody else on the machine can connect.
package pglocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNoBinaries: no PostgreSQL server binaries were found.
var ErrNoBinaries = errors.New("no PostgreSQL server binaries (initdb, pg_ctl, postgres) found on PATH or under /usr/lib/postgresql/*/bin")

// socketPort names the socket file (.s.PGSQL.<port>); nothing listens on TCP.
const socketPort = 5432

// maxSocketPath is the limit of a Unix socket path on Linux, minus the NUL.
const maxSocketPath = 107

// Options configure Start.
type Options struct {
	// Dir is the cluster's data directory; it is created and initialised
	// when empty or missing, and reused when it already holds a cluster.
	Dir string
	// Ephemeral trades durability for speed (fsync off): for test clusters.
	Ephemeral bool
	// Logger receives progress lines; nil discards them.
	Logger *slog.Logger
	// LookPath and Glob find the binaries; nil uses exec.LookPath and
	// filepath.Glob. Tests replace them.
	LookPath func(string) (string, error)
	Glob     func(string) ([]string, error)
}

// Cluster is a running private cluster.
type Cluster struct {
	dir     string
	binDir  string
	runAs   *syscall.Credential
	started bool // whether Stop has a server to stop
	logger  *slog.Logger
}

// FindBinaries returns the directory holding initdb, pg_ctl and postgres:
// the one on PATH when all three are there, else the newest version under
// /usr/lib/postgresql/*/bin. It returns ErrNoBinaries when neither has them.
func FindBinaries(lookPath func(string) (string, error), glob func(string) ([]string, error)) (string, error) {
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	if glob == nil {
		glob = filepath.Glob
	}
	if p, err := lookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if hasAll(dir) {
			return dir, nil
		}
	}
	dirs, err := glob("/usr/lib/postgresql/*/bin")
	if err != nil {
		return "", fmt.Errorf("look for PostgreSQL binaries: %w", err)
	}
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if hasAll(d) {
			return d, nil
		}
	}
	return "", ErrNoBinaries
}

func hasAll(dir string) bool {
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir))) // non-numeric sorts last
	return v
}

// Start initialises the cluster in opts.Dir when needed and starts it,
// adopting one that is already running there. When the process runs as root
// the server runs as the `postgres` system user, as PostgreSQL requires.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	binDir, err := FindBinaries(opts.LookPath, opts.Glob)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("data directory %q: %w", opts.Dir, err)
	}
	if len(filepath.Join(dir, ".s.PGSQL.5432")) > maxSocketPath {
		return nil, fmt.Errorf("data directory %q is too long for a Unix socket path (at most %d characters with the socket name): choose a shorter one", dir, maxSocketPath-len("/.s.PGSQL.5432"))
	}
	if strings.ContainsAny(dir, "'\"\\") {
		return nil, fmt.Errorf("data directory %q: quotes and backslashes are not supported in its path", dir)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{dir: dir, binDir: binDir, logger: logger}
	if os.Geteuid() == 0 {
		cred, err := postgresUser()
		if err != nil {
			return nil, err
		}
		c.runAs = cred
	}
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		logger.Info("initialising private PostgreSQL cluster", "dir", dir)
		if err := c.pg(ctx, "initdb", "-D", dir, "-U", "postgres", "--auth=trust", "-E", "UTF8",
			"--locale=C", "--no-instructions"); err != nil {
			return nil, fmt.Errorf("initdb: %w", err)
		}
	}
	if c.running(ctx) {
		// Left by an earlier run that did not stop it (killed, say): adopt
		// it, so this run stops it on exit.
		logger.Info("adopting a running private PostgreSQL cluster", "dir", dir)
		c.started = true
		return c, nil
	}
	serverOpts := []string{"-c listen_addresses=''", "-k '" + dir + "'", fmt.Sprintf("-p %d", socketPort),
		"-c unix_socket_permissions=0700", "-c max_connections=200"}
	if opts.Ephemeral {
		serverOpts = append(serverOpts, "-c fsync=off", "-c synchronous_commit=off",
			"-c full_page_writes=off", "-c shared_buffers=32MB")
	}
	if err := c.pg(ctx, "pg_ctl", "-D", dir, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60",
		"-o", strings.Join(serverOpts, " "), "start"); err != nil {
		return nil, fmt.Errorf("start PostgreSQL (see %s): %w", filepath.Join(dir, "server.log"), err)
	}
	c.started = true
	logger.Info("private PostgreSQL cluster started", "socket_dir", dir)
	return c, nil
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root: PostgreSQL refuses to run as root and there is no `postgres` system user to run it as")
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("postgres user has a non-numeric uid/gid %s/%s", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// prepareDir creates the data directory, owned by whoever runs the server
// and closed to everyone else. Missing parents are created searchable by
// all (as mkdir -p does), and when the server runs as the postgres user
// every parent must let that user through: PostgreSQL has to reach its
// directory by its path.
func (c *Cluster) prepareDir() error {
	parent := filepath.Dir(c.dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("create data directory %s: %w", c.dir, err)
	}
	if c.runAs != nil {
		if err := searchableBy(parent, c.runAs); err != nil {
			return err
		}
	}
	if err := os.Mkdir(c.dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create data directory %s: %w", c.dir, err)
	}
	if c.runAs != nil {
		if err := os.Chown(c.dir, int(c.runAs.Uid), int(c.runAs.Gid)); err != nil {
			return fmt.Errorf("hand data directory %s to the postgres user: %w", c.dir, err)
		}
	}
	if err := os.Chmod(c.dir, 0o700); err != nil {
		return fmt.Errorf("restrict data directory %s: %w", c.dir, err)
	}
	return nil
}

// UnreachableError: the postgres user, which runs the server when the
// caller is root, cannot pass through Dir on the way to the cluster's
// directory. Its text names the directory and the two ways out.
type UnreachableError struct {
	Dir  string
	text string
}

func (e *UnreachableError) Error() string { return e.text }

// searchableBy returns an error naming the first directory from dir up
// to / that the user of cred (with no supplementary groups, as pg runs
// it) may not pass through, and the two ways out.
func searchableBy(dir string, cred *syscall.Credential) error {
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		perm := fi.Mode().Perm()
		if !(perm&0o001 != 0 || st.Uid == cred.Uid && perm&0o100 != 0 || st.Gid == cred.Gid && perm&0o010 != 0) {
			return &UnreachableError{Dir: d, text: fmt.Sprintf("the postgres user (uid %d), which runs PostgreSQL when rolegate runs as root, cannot enter %s "+
				"(owner uid %d, mode %04o): choose a data directory outside it (e.g. under /var/lib), or let it through with `chmod o+x %s`",
				cred.Uid, d, st.Uid, perm, d)}
		}
		if d == "/" || d == filepath.Dir(d) {
			return nil
		}
	}
}

// pg runs one of the server binaries, as the postgres user when needed.
func (c *Cluster) pg(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.binDir, name), args...)
	cmd.Dir = c.dir
	cmd.Env = []string{"PATH=" + c.binDir + ":/usr/bin:/bin", "LC_ALL=C", "PGTZ=UTC"}
	// A process group of its own: a Ctrl-C in the terminal reaches only
	// rolegate, which then stops the server in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if c.runAs != nil {
		cmd.SysProcAttr.Credential = c.runAs
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if tail := lastLines(out.String(), 5); tail != "" {
			return fmt.Errorf("%w: %s", err, tail)
		}
		return err
	}
	return nil
}

func (c *Cluster) running(ctx context.Context) bool {
	return c.pg(ctx, "pg_ctl", "-D", c.dir, "status") == nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// Dir is the data directory, which also holds the socket.
func (c *Cluster) Dir() string { return c.dir }

// URL is the connection string for database name over the Unix socket.
func (c *Cluster) URL(database string) string { return SocketURL(c.dir, database) }

// SocketURL is the connection string for database name of the cluster
// whose data directory is dir (an absolute path), as Cluster.URL gives it.
func SocketURL(dir, database string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", dir, socketPort, database)
}

// Listening reports whether a server of the cluster in dir has its socket
// there, which it removes when it stops.
func Listening(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, fmt.Sprintf(".s.PGSQL.%d", socketPort)))
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// EnsureDatabase creates the database name when it does not exist yet.
func (c *Cluster) EnsureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to private PostgreSQL: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (fast mode: sessions are ended, committed work
// is kept). Stopping a stopped cluster does nothing.
func (c *Cluster) Stop(ctx context.Context) error {
	if !c.started {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	if !c.running(ctx) { // stopped by someone else meanwhile
		c.started = false
		return nil
	}
	if err := c.pg(ctx, "pg_ctl", "-D", c.dir, "-m", "fast", "-w", "-t", "50", "stop"); err != nil {
		return fmt.Errorf("stop PostgreSQL: %w", err)
	}
	c.started = false
	return nil
}
