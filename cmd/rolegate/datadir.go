package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// devClusterDir is where `rolegate dev` keeps its private cluster.
func devClusterDir(dataDir string) string { return filepath.Join(dataDir, "postgres") }

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
