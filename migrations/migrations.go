// Package migrations embeds rolegate's goose SQL migrations, so the binary
// carries the schema it knows how to serve.
package migrations

import "embed"

// FS holds the numbered *.sql migration files.
//
//go:embed *.sql
var FS embed.FS
