package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"
)

// What a person meets first on the command line: -h on every command, and
// wrong settings refused before anything starts.

func TestWrongSettingsFailFastWithOneLineEach(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want []string
	}{
		{"no database", []string{"serve"}, nil, []string{"DATABASE_URL: not set"}},
		// A worker shares serve's database (its queue): it said "not set"
		// and nothing of where to point it.
		{"worker without a database", []string{"worker"}, nil, []string{"DATABASE_URL: not set; point it at the database `rolegate serve` uses"}},
		{"unreachable database", []string{"serve"}, map[string]string{"DATABASE_URL": "postgres://rolegate:s3cret@127.0.0.1:1/rolegate"},
			[]string{"connect to PostgreSQL at 127.0.0.1:1/rolegate"}},
		{"unparsable database", []string{"serve"}, map[string]string{"DATABASE_URL": "postgres://u:s3cret@[::1/x"},
			[]string{"cannot parse the database URL"}},
		{"bad listen and log level", []string{"serve", "--listen", "8080", "--log-level", "loud"}, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x"},
			[]string{"--listen / LISTEN_ADDR", "--log-level / LOG_LEVEL"}},
		{"bad env duration", []string{"serve"}, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "SHUTDOWN_TIMEOUT": "soon"},
			[]string{"SHUTDOWN_TIMEOUT: \"soon\" is not a duration"}},
		// An environment variable's bad value names the flag it stands
		// for (it named the variable alone), and the flag given on the
		// command line wins over it: the database is what then fails.
		{"bad env number", []string{"serve"}, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "DB_MAX_CONNS": "abc"},
			[]string{`--db-max-conns / DB_MAX_CONNS: "abc" is not a whole number`}},
		{"bad env number under its flag", []string{"serve", "--db-max-conns", "5"}, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "DB_MAX_CONNS": "abc"},
			[]string{"connect to PostgreSQL at 127.0.0.1:1/x"}},
		{"bad review settings", []string{"serve", "--review-interval", "90 days"}, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1:1/x", "REVIEW_GRACE": "0"},
			[]string{`--review-interval / REVIEW_INTERVAL: "90 days" is not a duration (e.g. 90d or 2160h; 0 turns reviews off)`, "--review-grace / REVIEW_GRACE: 0 is not from 1h to 365d"}},
		{"unknown command", []string{"frobnicate"}, nil, []string{`unknown command "frobnicate"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			// serve holds its --listen address from the start: the
			// default, 8080, would make the cases (run in parallel) and
			// whatever else listens there refuse each other.
			env := map[string]string{"LISTEN_ADDR": "127.0.0.1:0"}
			maps.Copy(env, tc.env)
			err := run(ctx, append([]string{"rolegate"}, tc.args...), func(k string) string { return env[k] }, io.Discard, io.Discard)
			if err == nil {
				t.Fatal("run succeeded")
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("took %s", time.Since(start))
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("error has %d lines, want %d:\n%s", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d = %q, want it to mention %q", i+1, lines[i], w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("the error shows the password: %s", err)
			}
		})
	}
}

// flagLineRE is a flag's line in --help: its name and what its value is.
var flagLineRE = regexp.MustCompile(`(?m)^  -(\S+) (.+)$`)

func TestHelpOnEveryCommand(t *testing.T) {
	t.Parallel()
	for name := range commands() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			err := run(context.Background(), []string{"rolegate", name, "--help"}, func(string) string { return "" }, &out, &out)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("--help returned %v", err)
			}
			if !strings.Contains(out.String(), "Usage: rolegate "+name) {
				t.Fatalf("--help printed:\n%s", out.String())
			}
			// A flag's line shows what its value is: the flag package takes
			// the first `quoted` words of the usage for it, so a usage
			// quoting a command read "-data-dir rolegate dev".
			flags := flagLineRE.FindAllStringSubmatch(out.String(), -1)
			for _, m := range flags {
				if strings.Contains(m[2], "rolegate") {
					t.Errorf("-%s shows its value as %q", m[1], m[2])
				}
			}
			// A command without flags (version) printed a Flags heading
			// over nothing.
			if len(flags) == 0 && strings.Contains(out.String(), "Flags") {
				t.Errorf("--help of a command without flags has a Flags heading:\n%s", out.String())
			}
		})
	}
	// No command at all is a mistake (exit 2, usage on stderr), as in go
	// and git: it exited 0, so a script that lost its command went on.
	var stdout, stderr bytes.Buffer
	var exit errExitCode
	if err := run(context.Background(), []string{"rolegate"}, nil, &stdout, &stderr); !errors.As(err, &exit) || exit.code != 2 {
		t.Errorf("rolegate without a command returned %v, want exit code 2", err)
	}
	if stdout.Len() != 0 || !strings.Contains(stderr.String(), "Usage: rolegate <command>") {
		t.Errorf("rolegate without a command printed %q on stdout and %q on stderr, want the usage on stderr", stdout.String(), stderr.String())
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"rolegate", "help"}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	for name := range commands() {
		if !strings.Contains(out.String(), name) {
			t.Errorf("help does not list %s", name)
		}
	}
}

// A wrong flag is one line that says what its value should look like and
// where the flags are: it was the flag package's "parse error" under a
// screenful of every flag's help, and said twice.
func TestWrongFlagIsOneLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ args, want string }{
		{"serve --request-timeout abc", `invalid value "abc" for flag -request-timeout: not a duration (e.g. 15s, 2m); run 'rolegate serve -h' for its flags`},
		{"serve --db-max-conns many", `invalid value "many" for flag -db-max-conns: not a whole number; run 'rolegate serve -h' for its flags`},
		{"worker --cookie-secure=maybe", `flag provided but not defined: -cookie-secure; run 'rolegate worker -h' for its flags`},
		{"serve --cookie-secure=maybe", `invalid value "maybe" for flag -cookie-secure: not true or false; run 'rolegate serve -h' for its flags`},
		{"token create --bogus", `flag provided but not defined: -bogus; run 'rolegate token create -h' for its flags`},
	} {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"rolegate"}, strings.Fields(tc.args)...), func(string) string { return "" }, &out, &out)
		if err == nil || err.Error() != tc.want {
			t.Errorf("rolegate %s: %v, want %s", tc.args, err, tc.want)
		}
		if out.Len() != 0 {
			t.Errorf("rolegate %s printed more than its error:\n%s", tc.args, out.String())
		}
	}
}
