package store_test

import (
	"errors"
	"testing"

	"github.com/rolegate/rolegate/provision"
	"github.com/rolegate/rolegate/store"
)

// The store keeps the free-text rule itself, so every caller, the command
// line's included, meets it: the justification at its field with the
// spec's problems, a comment, a note and a token's description as
// ErrInvalid; nothing is written.
func TestStoreRefusesHiddenCharactersInFreeText(t *testing.T) {
	f, ctx := setup(t, store.Options{Reviews: quarterly})
	in := newRequest("bad name!", "alice")
	in.Justification = "access for testing\u202egnitset"
	_, err := f.db.CreateRequest(ctx, in)
	var verr *provision.ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want *provision.ValidationError", err)
	}
	got := map[string]string{}
	for _, p := range verr.Problems {
		got[p.Field] = p.Message
	}
	if want := "justification contains an invisible control character (U+202E, right-to-left override) at character 19; remove it"; got["justification"] != want || got["name"] == "" {
		t.Errorf("problems %v, want the name's and justification: %q", verr.Problems, want)
	}
	in = newRequest("multi-line", "alice")
	in.Justification = "the nightly job\r\nreads\tthe reports"
	r := mustCreate(t, f.db, in)

	_, err = f.db.Decide(ctx, bob, r.ID, 1, store.Decision{Approve: true, Comment: "ok\x1b[8m"})
	wantErr(t, err, store.ErrInvalid, "the comment contains an invisible control character (U+001B, escape) at character 3")
	wantStatus(t, f.db, r.ID, store.StatusPending)

	live := activate(t, f, mustCreate(t, f.db, newRequest("live-one", "alice")))
	_, err = f.db.ConfirmReview(ctx, alice, live.ID, "\u2066still needed")
	wantErr(t, err, store.ErrInvalid, "the note contains an invisible control character (U+2066, left-to-right isolate) at character 1")
	_, err = f.db.LetGo(ctx, alice, live.ID, "done\u0085")
	wantErr(t, err, store.ErrInvalid, "the note contains an invisible control character (U+0085, next line) at character 5")
	wantStatus(t, f.db, live.ID, store.StatusActive)

	for desc, says := range map[string]string{
		"ci \x1b[31mred":   "the description contains an invisible control character (U+001B, escape) at character 4",
		"deploy\npipeline": "the description is one line",
	} {
		_, _, err = f.db.CreateToken(ctx, store.NewToken{User: "alice", Description: desc, CreatedBy: "cli"})
		wantErr(t, err, store.ErrInvalid, says)
	}
	if tokens, err := f.db.ListTokens(ctx, "alice"); err != nil || len(tokens) != 0 {
		t.Fatalf("tokens after refusals: %d, %v", len(tokens), err)
	}
}
