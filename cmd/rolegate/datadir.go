package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/rolegate/rolegate/store/pglocal"
)

// devDatabase is the database `rolegate dev` keeps in its private cluster.
const devDatabase = "rolegate"

// defaultDataDir is where `rolegate dev` keeps its state between runs: the
// user's data directory, or /var/lib/rolegate for root (whose home the
// postgres system user, which runs the server for root, cannot enter).
func defaultDataDir(getenv func(string) string) string {
	if os.Geteuid() == 0 {
		return "/var/lib/rolegate"
	}
	if d := getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "rolegate")
	}
	if home := getenv("HOME"); home != "" {
		return filepath.Join(home, ".local", "share", "rolegate")
	}
	return filepath.Join(os.TempDir(), "rolegate")
}

// dataDirMode is the mode of the data directory: its owner's alone, and
// for root also passable (not listable) by the postgres user, which runs
// the private cluster in its postgres/ subdirectory.
func dataDirMode() os.FileMode {
	if os.Geteuid() == 0 {
		return 0o711
	}
	return 0o700
}

// prepareDataDir creates dir when missing (its missing parents 0755, as
// mkdir -p makes them) with dataDirMode, and checks that an existing one
// is a directory the user may write. Run as root on a root-owned data
// directory that the postgres user cannot pass through (as earlier
// versions made it), it adds that passage. It returns what it changed, for
// the log, and an error naming the path and the fix.
func prepareDataDir(dir string) (changed string, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", fmt.Errorf("cannot create %s: %w; choose another directory", dir, err)
		}
		if err := os.Mkdir(dir, dataDirMode()); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("cannot create %s: %w; choose another directory", dir, err)
		}
		// The umask may have taken bits away.
		if err := os.Chmod(dir, dataDirMode()); err != nil {
			return "", fmt.Errorf("%s: %w", dir, err)
		}
		return fmt.Sprintf("created %s (mode %04o)", dir, dataDirMode()), nil
	case err != nil:
		return "", fmt.Errorf("%s: %w", dir, err)
	case !fi.IsDir():
		return "", fmt.Errorf("%s is not a directory; choose a directory", dir)
	}
	if err := syscall.Access(dir, 0o3); err != nil { // W_OK|X_OK
		return "", fmt.Errorf("%s is not writable by you (uid %d): choose a directory of your own, or make it yours with `chown`", dir, os.Geteuid())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if os.Geteuid() == 0 && ok && st.Uid == 0 && fi.Mode().Perm()&0o001 == 0 {
		mode := fi.Mode().Perm() | 0o001
		if err := os.Chmod(dir, mode); err != nil {
			return "", fmt.Errorf("%s: %w", dir, err)
		}
		return fmt.Sprintf("let the postgres user pass through %s (mode %04o)", dir, mode), nil
	}
	return "", nil
}

// devLockFile is the file in the data directory that a running
// `rolegate dev` holds locked: one dev per data directory, since the
// private cluster, the local IAM state and the files the commands beside
// dev read are the data directory's. It holds the pid of the dev holding
// it and, once that one serves, its URL.
const devLockFile = "dev.lock"

// devLock is a data directory taken by this process.
type devLock struct{ f *os.File }

// lockDataDir takes dir for this `rolegate dev` alone, or says which one
// runs there already. The lock ends with its process however it ends, so a
// dev that was killed leaves nothing that stops the next.
func lockDataDir(dir string) (*devLock, error) {
	path := filepath.Join(dir, devLockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		who := "another `rolegate dev`"
		held, _ := os.ReadFile(path)
		switch fields := strings.Fields(string(held)); {
		case len(fields) > 1:
			who += fmt.Sprintf(" (pid %s, serving %s)", fields[0], fields[1])
		case len(fields) == 1:
			who += fmt.Sprintf(" (pid %s)", fields[0])
		}
		return nil, fmt.Errorf("%s is already running with data directory %s: stop it first (Ctrl-C in its terminal), or give this one another --data-dir", who, dir)
	}
	l := &devLock{f: f}
	if err := l.record(""); err != nil {
		l.release()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return l, nil
}

// record writes this process's pid and, once known, the URL it serves.
func (l *devLock) record(url string) error {
	line := strconv.Itoa(os.Getpid())
	if url != "" {
		line += " " + url
	}
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err := l.f.WriteAt([]byte(line+"\n"), 0)
	return err
}

// runningDev returns the pid of the `rolegate dev` that holds dataDir,
// read from its lock file, and the URL it serves ("" while it starts); ok
// is false when no process of that pid lives (the dev ended, or none ever
// ran there). It does not take the lock, not even for a moment, so a dev
// starting meanwhile is never refused because of it.
func runningDev(dataDir string) (pid int, url string, ok bool) {
	held, err := os.ReadFile(filepath.Join(dataDir, devLockFile))
	if err != nil {
		return 0, "", false
	}
	fields := strings.Fields(string(held))
	if len(fields) == 0 {
		return 0, "", false
	}
	pid, err = strconv.Atoi(fields[0])
	if err != nil || pid <= 0 {
		return 0, "", false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return 0, "", false
	}
	if len(fields) > 1 {
		url = fields[1]
	}
	return pid, url, true
}

// release lets the next dev take the data directory.
func (l *devLock) release() { l.f.Close() }

// devClusterDir is where `rolegate dev` keeps its private cluster:
// DATA_DIR/postgres, or where that link points (clusterOutside).
func devClusterDir(dataDir string) string {
	dir := filepath.Join(dataDir, "postgres")
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if target, err := filepath.EvalSymlinks(dir); err == nil {
			return target
		}
	}
	return dir
}

// outsideClusters holds the clusters of data directories the postgres
// user cannot reach (a data directory below root's home, or below a
// mktemp directory): root can pass through, /var/lib is open to all.
const outsideClusters = "/var/lib/rolegate/clusters"

// clusterOutside gives a data directory the postgres user cannot reach
// (root runs rolegate; some directory above it is root's alone) a cluster
// directory it can: one per data directory under outsideClusters, named
// by the data directory's path, with DATA_DIR/postgres a link to it, so
// later runs and the one-shot commands find it. It returns the cluster
// directory, or an error when DATA_DIR/postgres is already something else.
func clusterOutside(dataDir string) (string, error) {
	link := filepath.Join(dataDir, "postgres")
	if fi, err := os.Lstat(link); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return "", fmt.Errorf("%s already exists and is not a link; move it away or choose another data directory", link)
	}
	sum := sha256.Sum256([]byte(dataDir))
	target := filepath.Join(outsideClusters, hex.EncodeToString(sum[:8]))
	if err := os.MkdirAll(outsideClusters, 0o755); err != nil {
		return "", fmt.Errorf("cannot create %s: %w", outsideClusters, err)
	}
	if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.Symlink(target, link); err != nil {
		return "", fmt.Errorf("link %s to %s: %w", link, target, err)
	}
	return target, nil
}

// devClusterURL is the URL of dev's database in the private cluster of
// dataDir when that cluster is running (its socket is there), for the
// one-shot commands run with no DATABASE_URL on the same machine.
func devClusterURL(dataDir string) (string, bool) {
	dir, err := filepath.Abs(devClusterDir(dataDir))
	if err != nil {
		return "", false
	}
	if !pglocal.Listening(dir) {
		return "", false
	}
	return pglocal.SocketURL(dir, devDatabase), true
}
