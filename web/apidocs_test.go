package web

import (
	"bytes"
	"context"
	"testing"
)

// TestAPIReferenceText: descriptions become paragraphs with code spans,
// everything escaped; an unpaired backtick stays text.
func TestAPIReferenceText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Use `a<b>` now.\nSame paragraph.\n\nNext `x`", "<p>Use <code>a&lt;b&gt;</code> now. Same paragraph.</p><p>Next <code>x</code></p>"},
		{"odd ` tick", "<p>odd ` tick</p>"},
		{"<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{"", ""},
	} {
		var buf bytes.Buffer
		if err := richText(tc.in).Render(context.Background(), &buf); err != nil {
			t.Fatal(err)
		}
		if got := string(bytes.TrimSpace(buf.Bytes())); got != tc.want {
			t.Errorf("richText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
