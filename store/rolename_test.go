package store_test

import (
	"testing"

	"github.com/rolegate/rolegate/store"
)

// TestRoleNameTaken: a live or pending request holds its name in any case;
// a cancelled one frees it; a request never collides with itself.
func TestRoleNameTaken(t *testing.T) {
	db, ctx := setupDB(t)
	held := mustCreate(t, db, newRequest("Reports-Reader", "alice"))
	gone := mustCreate(t, db, newRequest("old-reader", "alice"))
	if _, err := db.Cancel(ctx, store.Actor{Name: "alice", Roles: []store.Role{store.RoleRequester}}, gone.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		except int64
		want   bool
	}{
		{"reports-reader", 0, true},
		{"REPORTS-READER", 0, true},
		{"reports-reader", held.ID, false},
		{"old-reader", 0, false},
		{"someone-else", 0, false},
	} {
		got, err := db.RoleNameTaken(ctx, "", tc.name, tc.except)
		if err != nil || got != tc.want {
			t.Errorf("RoleNameTaken(%q, %d) = %v, %v; want %v", tc.name, tc.except, got, err, tc.want)
		}
	}
}
