package store_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/rolegate/rolegate/store"
)

func TestListEventsNewestFirst(t *testing.T) {
	db, ctx := setupDB(t)
	var ids []int64
	for i := range 7 {
		kind := "test.even"
		if i%2 == 1 {
			kind = "test.odd"
		}
		e, err := db.AppendEvent(ctx, store.Event{Actor: "admin", Kind: kind, Data: map[string]any{"i": fmt.Sprint(i)}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	list := func(f store.EventFilter) []int64 {
		t.Helper()
		events, err := db.ListEvents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int64, len(events))
		for i, e := range events {
			out[i] = e.ID
		}
		return out
	}
	newest := slices.Clone(ids)
	slices.Reverse(newest)

	// Pages of three, newest first, each continuing before the last one shown.
	var got []int64
	f := store.EventFilter{NewestFirst: true, Limit: 3}
	for range 4 {
		page := list(f)
		got = append(got, page...)
		if len(page) < 3 {
			break
		}
		f.BeforeID = page[len(page)-1]
	}
	if !slices.Equal(got, newest) {
		t.Errorf("newest-first pages = %v, want %v", got, newest)
	}
	// Filters still apply, and the default order is unchanged.
	if got, want := list(store.EventFilter{NewestFirst: true, Kind: "test.odd"}), []int64{ids[5], ids[3], ids[1]}; !slices.Equal(got, want) {
		t.Errorf("odd newest first = %v, want %v", got, want)
	}
	if got := list(store.EventFilter{}); !slices.Equal(got, ids) {
		t.Errorf("default order = %v, want %v", got, ids)
	}
	if got, want := list(store.EventFilter{BeforeID: ids[3]}), ids[:3]; !slices.Equal(got, want) {
		t.Errorf("before %d, oldest first = %v, want %v", ids[3], got, want)
	}
}
