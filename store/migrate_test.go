package store_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

func TestMigrateUpDownUp(t *testing.T) {
	db, ctx := setupEmpty(t)
	if err := db.SchemaCurrent(ctx); !errors.Is(err, store.ErrSchemaPending) {
		t.Fatalf("empty database: SchemaCurrent = %v, want ErrSchemaPending", err)
	}
	applied, err := db.Migrate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) == 0 {
		t.Fatal("nothing applied to an empty database")
	}
	if err := db.SchemaCurrent(ctx); err != nil {
		t.Fatalf("after migrate: %v", err)
	}
	for range applied {
		if err := db.MigrateDown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var tables int
	if err := db.Pool().QueryRow(ctx, `SELECT count(*) FROM information_schema.tables
		WHERE table_schema = 'public' AND table_name <> 'goose_db_version' AND table_name NOT LIKE 'river%'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Fatalf("%d tables left after migrating all the way down", tables)
	}
	again, err := db.Migrate(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != len(applied) {
		t.Fatalf("re-applied %v, first time %v", again, applied)
	}
	// Re-running is a no-op.
	if none, err := db.Migrate(ctx, nil); err != nil || len(none) != 0 {
		t.Fatalf("third run applied %v (err %v)", none, err)
	}
	status, err := db.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range status {
		if !s.Applied {
			t.Errorf("migration %d (%s) not applied", s.Version, s.Name)
		}
	}
}

func TestConcurrentMigrationsApplyOnce(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	url := storetest.EmptyURL(t)
	const n = 4
	dbs := make([]*store.DB, n)
	for i := range dbs {
		dbs[i] = storetest.Open(t, url, store.Options{MaxConns: 2})
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total = map[int64]int{}
	)
	for _, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied, err := db.Migrate(ctx, nil)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, v := range applied {
				total[v]++
			}
		}()
	}
	wg.Wait()
	status, err := dbs[0].MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range status {
		if total[s.Version] != 1 {
			t.Errorf("migration %d applied %d times, want once", s.Version, total[s.Version])
		}
	}
	var rows int
	if err := dbs[0].Pool().QueryRow(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(status) {
		t.Fatalf("goose_db_version has %d rows, want %d", rows, len(status))
	}
}

func TestSchemaNewerThanBinaryIsRefused(t *testing.T) {
	db, ctx := setupDB(t)
	if _, err := db.Pool().Exec(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)`); err != nil {
		t.Fatal(err)
	}
	if err := db.SchemaCurrent(ctx); !errors.Is(err, store.ErrSchemaUnknown) {
		t.Fatalf("SchemaCurrent = %v, want ErrSchemaUnknown", err)
	}
	if _, err := db.Migrate(ctx, nil); !errors.Is(err, store.ErrSchemaUnknown) {
		t.Fatalf("Migrate = %v, want ErrSchemaUnknown", err)
	}
}
