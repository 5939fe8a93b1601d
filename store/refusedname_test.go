package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// A session or token made under a name before rolegate refused it (a name
// it records its own actions under, a line break) no longer signs anyone
// in: it would act, and be recorded, as rolegate itself.
func TestCredentialsUnderARefusedNameStopWorking(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	db := storetest.New(t)
	for _, name := range []string{"worker", "Drift-Check", "eve\nworker"} {
		_, sid, err := db.CreateSession(ctx, store.NewSession{User: "alice", Roles: []store.Role{store.RoleAdmin}, Lifetime: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		_, secret, err := db.CreateToken(ctx, store.NewToken{User: "alice", Roles: []store.Role{store.RoleAdmin}, CreatedBy: "test"})
		if err != nil {
			t.Fatal(err)
		}
		// As an older rolegate would have stored them.
		if _, err := db.Pool().Exec(ctx, `UPDATE web_sessions SET user_name = $1 WHERE user_name = 'alice';
			`, name); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool().Exec(ctx, `UPDATE api_tokens SET user_name = $1 WHERE user_name = 'alice'`, name); err != nil {
			t.Fatal(err)
		}
		if s, err := db.LookupSession(ctx, sid); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("session of %q = %+v, %v; want ErrNotFound", name, s, err)
		}
		if tok, err := db.Authenticate(ctx, secret); !errors.Is(err, store.ErrBadToken) {
			t.Errorf("token of %q = %+v, %v; want ErrBadToken", name, tok, err)
		}
	}
}
