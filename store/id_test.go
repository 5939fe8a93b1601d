package store

import (
	"math"
	"strconv"
	"testing"
)

func TestParseIDIsStrict(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "0", "00", "01", "+1", "-1", " 1", "1 ", "1.0", "1e3", "0x1", "١", "9223372036854775808", "99999999999999999999"} {
		if id, ok := ParseID(s); ok {
			t.Errorf("ParseID(%q) = %d, want refused", s, id)
		}
	}
	for _, want := range []int64{1, 9, 10, 1234567, math.MaxInt64} {
		if got, ok := ParseID(strconv.FormatInt(want, 10)); !ok || got != want {
			t.Errorf("ParseID(%d) = %d, %v", want, got, ok)
		}
	}
}
