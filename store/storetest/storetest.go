// Package storetest gives each test its own fresh, migrated PostgreSQL
// database, cloned from a template migrated once per test binary.
//
// Where the server comes from, in order: TEST_DATABASE_URL (an admin URL of
// a server the tests may create databases on); a PostgreSQL container
// started with testcontainers-go when a Docker daemon answers; a throwaway
// private cluster from the locally installed server binaries. With none of
// the three the tests fail, saying so.
//
// Packages that use it call storetest.Main from TestMain, so whatever the
// helper started is stopped when the tests end.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rolegate/rolegate/migrations"
	"github.com/rolegate/rolegate/store"
)

// prefix marks every database this helper creates; it never drops others.
const prefix = "rolegate_test_"

var (
	mainCalled atomic.Bool
	once       sync.Once
	srv        *server
	srvErr     error
)

// server is the PostgreSQL server the tests use and how to clean it up.
type server struct {
	adminURL string
	admin    *pgxpool.Pool
	template string
	stop     func()
}

// Main runs the tests of a package and then stops what the helper started.
// Call it from TestMain: func TestMain(m *testing.M) { storetest.Main(m) }.
// Each of after runs once the tests have, before the process exits: the
// package's own clean-up of what its tests shared.
func Main(m *testing.M, after ...func()) {
	mainCalled.Store(true)
	code := m.Run()
	for _, f := range after {
		f()
	}
	if srv != nil {
		srv.admin.Close()
		if srv.stop != nil {
			srv.stop()
		}
	}
	os.Exit(code)
}

func get(tb testing.TB) *server {
	tb.Helper()
	if !mainCalled.Load() {
		tb.Fatal("storetest: call storetest.Main(m) from this package's TestMain")
	}
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		srv, srvErr = start(ctx)
	})
	if srvErr != nil {
		tb.Fatalf("storetest: %v", srvErr)
	}
	return srv
}

func start(ctx context.Context) (*server, error) {
	adminURL, stop, err := findServer(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(adminURL)
	if err != nil {
		stop()
		return nil, errors.New("TEST_DATABASE_URL cannot be parsed")
	}
	cfg.MaxConns = 4
	admin, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = admin.Ping(ctx)
	}
	if err != nil {
		stop()
		return nil, fmt.Errorf("connect to the test server: %w", err)
	}
	s := &server{adminURL: adminURL, admin: admin, stop: stop}
	if s.template, err = s.ensureTemplate(ctx); err != nil {
		admin.Close()
		stop()
		return nil, err
	}
	return s, nil
}

// migrationsHash names the template after the migrations it holds, so a
// changed migration gets a new template and old ones are never reused.
func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

// ensureTemplate creates and migrates the template database once; test
// binaries running at the same time serialise on an advisory lock.
func (s *server) ensureTemplate(ctx context.Context) (string, error) {
	hash, err := migrationsHash()
	if err != nil {
		return "", fmt.Errorf("read migrations: %w", err)
	}
	name := prefix + "tmpl_" + hash
	conn, err := s.admin.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", name); err != nil {
		return "", fmt.Errorf("lock template: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", name) //nolint:errcheck
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(building)+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(building)); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	db, err := store.Open(ctx, s.url(building), store.Options{MaxConns: 2})
	if err != nil {
		return "", err
	}
	_, err = db.Migrate(ctx, nil)
	db.Close()
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(building)+" RENAME TO "+ident(name)); err != nil {
		return "", fmt.Errorf("publish template: %w", err)
	}
	return name, nil
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// url is the admin URL pointed at database name.
func (s *server) url(name string) string { return withDatabase(s.adminURL, name) }

func withDatabase(dsn, name string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			u.Path = "/" + name
			return u.String()
		}
	}
	return dsn + " dbname=" + name
}

func randomName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// createDatabase makes a database (cloned from the template, or empty,
// with options added to its CREATE DATABASE) and drops it when the test
// ends.
func createDatabase(tb testing.TB, fromTemplate bool, options string) string {
	tb.Helper()
	s := get(tb)
	name := randomName()
	sql := "CREATE DATABASE " + ident(name)
	if fromTemplate {
		sql += " TEMPLATE " + ident(s.template)
	}
	sql += options
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.admin.Exec(ctx, sql); err != nil {
		tb.Fatalf("storetest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			tb.Errorf("storetest: drop database %s: %v", name, err)
		}
	})
	if fromTemplate {
		newInstallation(ctx, tb, s.url(name))
	}
	return s.url(name)
}

// newInstallation gives the database at url an installation ID of its
// own: a clone of the template has the template's, and tests sharing one
// IAM endpoint must be installations apart, as databases migrated one by
// one are.
func newInstallation(ctx context.Context, tb testing.TB, url string) {
	tb.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("storetest: connect: %v", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "UPDATE installation SET id = gen_random_uuid()"); err != nil {
		tb.Fatalf("storetest: new installation ID: %v", err)
	}
}

// URL returns the connection URL of a fresh, migrated database of the
// test's own, dropped when the test ends.
func URL(tb testing.TB) string {
	tb.Helper()
	return createDatabase(tb, true, "")
}

// EmptyURL returns the URL of a fresh database with no schema at all, for
// tests of the migrations themselves.
func EmptyURL(tb testing.TB) string {
	tb.Helper()
	return createDatabase(tb, false, "")
}

// ICUURL returns the URL of a fresh database with no schema whose
// collation is the ICU locale given (such as "tr-TR"), for tests of what
// depends on the database's collation; the caller migrates it.
func ICUURL(tb testing.TB, locale string) string {
	tb.Helper()
	return createDatabase(tb, false, " TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu LOCALE 'C' ICU_LOCALE "+
		pgQuote(locale))
}

// pgQuote is s as an SQL string literal.
func pgQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// New returns a store on a fresh, migrated database of the test's own,
// with a capped pool, closed and dropped when the test ends.
func New(tb testing.TB) *store.DB {
	tb.Helper()
	return Open(tb, URL(tb), store.Options{})
}

// Open opens a store on url with a capped pool and closes it at cleanup.
func Open(tb testing.TB, url string, opts store.Options) *store.DB {
	tb.Helper()
	if opts.MaxConns == 0 {
		opts.MaxConns = 4
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, url, opts)
	if err != nil {
		tb.Fatalf("storetest: open: %v", err)
	}
	tb.Cleanup(db.Close)
	return db
}
