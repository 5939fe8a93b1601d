package main

import (
	"bytes"
	"context"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// rolegate dev run as root or as an ordinary user: the data directories it
// makes are ones the PostgreSQL server and its user can enter.

// fileOwner returns the mode and owner of path.
func fileOwner(t *testing.T, path string) (os.FileMode, uint32) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Uid
}

// `make run` as root, the way a newcomer meets it: a data directory that
// does not exist yet (flag or environment), or one an earlier version left
// closed (0700). Each directory rolegate makes must let its user in: the
// data directory root's alone but passable by the postgres user, the
// cluster's directory the postgres user's alone.
func TestDevMakesDataDirectoriesItsUsersCanEnter(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Fatal("this test covers running as root; run the tests as root (TestDevAsOrdinaryUser covers the rest)")
	}
	needPostgresBinaries(t)
	pgUser, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t)
	for _, tc := range []struct {
		name    string
		prepare func(dir string) // nil: the directory does not exist
		byEnv   bool
		mode    os.FileMode // of the data directory
	}{
		{name: "new directory by flag", mode: 0o711},
		{name: "new directory by ROLEGATE_DATA_DIR", byEnv: true, mode: 0o711},
		{name: "existing 0700 directory", mode: 0o701, prepare: func(dir string) {
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := openTempDir(t, "rolegate-dev-dirs-")
			dataDir := filepath.Join(base, "not", "yet", "data")
			if tc.prepare != nil {
				dataDir = filepath.Join(base, "data")
				tc.prepare(dataDir)
			}
			env, args := []string{"HOME=" + t.TempDir()}, []string{"--data-dir", dataDir}
			if tc.byEnv {
				env, args = append(env, "ROLEGATE_DATA_DIR="+dataDir), nil
			}
			d := startDev(t, bin, env, nil, args...)
			checkBanner(t, d, dataDir)
			if code, body := get(t, d.base+"/readyz"); code != 200 {
				t.Fatalf("/readyz = %d %s", code, body)
			}
			if mode, uid := fileOwner(t, dataDir); mode != tc.mode || uid != 0 {
				t.Errorf("data directory: mode %04o owner %d, want %04o root", mode, uid, tc.mode)
			}
			if mode, uid := fileOwner(t, filepath.Join(dataDir, "postgres")); mode != 0o700 || strconv.Itoa(int(uid)) != pgUser.Uid {
				t.Errorf("cluster directory: mode %04o owner %d, want 0700 postgres (%s)", mode, uid, pgUser.Uid)
			}
			if mode, _ := fileOwner(t, filepath.Join(dataDir, "session.key")); mode != 0o600 {
				t.Errorf("session key: mode %04o, want 0600", mode)
			}
			d.stop()
		})
	}
}

// `make run` as an ordinary user with the default data directory under
// HOME: everything is that user's alone and the server runs as that user.
func TestDevAsOrdinaryUser(t *testing.T) {
	t.Parallel()
	needPostgresBinaries(t)
	var cred *syscall.Credential
	uid := uint32(os.Geteuid())
	home := openTempDir(t, "rolegate-dev-home-")
	if uid == 0 { // become nobody
		nobody, err := user.Lookup("nobody")
		if err != nil {
			t.Fatalf("running as root, this test needs the nobody user: %v", err)
		}
		u, _ := strconv.Atoi(nobody.Uid)
		g, _ := strconv.Atoi(nobody.Gid)
		cred, uid = &syscall.Credential{Uid: uint32(u), Gid: uint32(g)}, uint32(u)
		if err := os.Chown(home, u, g); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chown(home, 0, 0) }) //nolint:errcheck // RemoveAll as root works either way
	}
	bin := buildBinary(t)
	d := startDev(t, bin, []string{"HOME=" + home}, cred)
	dataDir := filepath.Join(home, ".local", "share", "rolegate")
	checkBanner(t, d, dataDir)
	if code, body := get(t, d.base+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	for _, dir := range []string{dataDir, filepath.Join(dataDir, "postgres")} {
		if mode, owner := fileOwner(t, dir); mode != 0o700 || owner != uid {
			t.Errorf("%s: mode %04o owner %d, want 0700 %d", dir, mode, owner, uid)
		}
	}
	d.stop()
}

// `rolegate dev --data-dir "$(mktemp -d)/data"` as root: a directory above
// the data directory is root's alone (0700), so the postgres user cannot
// reach a cluster inside it. dev keeps the cluster under /var/lib instead,
// links DATA_DIR/postgres to it, becomes ready, and a one-shot command
// with the same data directory finds it.
func TestDevDataDirBelowAClosedDirectory(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Fatal("this test covers running as root")
	}
	closed := filepath.Join(openTempDir(t, "rolegate-dev-closed-"), "closed")
	if err := os.Mkdir(closed, 0o700); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(closed, "data")
	d := startDev(t, buildBinary(t), []string{"HOME=" + t.TempDir()}, nil, "--data-dir", dataDir)
	cluster := devClusterDir(dataDir)
	t.Cleanup(func() { os.RemoveAll(cluster) })
	if !strings.HasPrefix(cluster, outsideClusters+"/") {
		t.Fatalf("cluster directory %s, want one under %s", cluster, outsideClusters)
	}
	if code, body := get(t, d.base+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d %s", code, body)
	}
	if mode, _ := fileOwner(t, closed); mode != 0o700 {
		t.Errorf("%s: mode %04o, want it left 0700", closed, mode)
	}
	if !strings.Contains(d.out.String(), "export DATABASE_URL='host="+cluster+" ") {
		t.Errorf("the banner does not give the cluster's socket %s:\n%s", cluster, d.out.String())
	}
	var out, errOut bytes.Buffer
	env := func(k string) string { return map[string]string{"HOME": closed}[k] }
	if err := run(context.Background(), []string{"rolegate", "token", "list", "--data-dir", dataDir}, env, &out, &errOut); err != nil {
		t.Fatalf("token list with the same data directory: %v\n%s", err, errOut.String())
	}
	d.stop()
}
