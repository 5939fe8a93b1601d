package store

import "testing"

func TestRequestList(t *testing.T) {
	t.Parallel()
	many := make([]int64, 23)
	for i := range many {
		many[i] = int64(i + 1)
	}
	for _, tc := range []struct {
		ids        []int64
		have, name string
	}{
		{[]int64{7}, "request 7 has its role", "request 7 names"},
		{[]int64{1, 3}, "requests 1, 3 have their roles", "requests 1, 3 name"},
		{many, "requests 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 and 3 more have their roles",
			"requests 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20 and 3 more name"},
	} {
		if got := haveRoles(tc.ids); got != tc.have {
			t.Errorf("haveRoles(%v) = %q, want %q", tc.ids, got, tc.have)
		}
		want := tc.name + ` account "gone", which the accounts file does not list: name the account they live in "gone" in the file`
		if got := unlistedAccount("gone", tc.ids).Error(); got != want {
			t.Errorf("unlistedAccount(%v) = %q, want %q", tc.ids, got, want)
		}
	}
}
