package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store/storetest"
)

// Values that pass the flag parser but make no sense are refused at
// start-up, one line each naming the setting, as the environment's are:
// a pool of one connection hung serve for ever (migrating holds one and
// goose waits for a second), a negative duration given as a flag was taken
// (the same value in the environment was refused), and NaN as a rate
// passed every range check and switched the rate limit off.
func TestSettingsOutOfRangeAreRefused(t *testing.T) {
	t.Parallel()
	// A real database: a setting let through shows as a server that
	// starts (or hangs), not as a connection error.
	dbURL := storetest.URL(t)
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"one connection", []string{"serve", "--db-max-conns", "1"}, nil, "--db-max-conns / DB_MAX_CONNS: 1 is not from 2 to 1000"},
		{"one connection for a worker", []string{"worker"}, map[string]string{"DB_MAX_CONNS": "1"}, "--db-max-conns / DB_MAX_CONNS: 1 is not from 2 to 1000"},
		{"negative shutdown timeout", []string{"serve", "--shutdown-timeout=-5s"}, nil, "--shutdown-timeout / SHUTDOWN_TIMEOUT: -5s is negative"},
		{"no ready timeout", []string{"serve", "--ready-timeout=0"}, nil, "--ready-timeout / READY_TIMEOUT: 0s is not a positive duration of at most 1m0s"},
		{"negative ready timeout", []string{"serve", "--ready-timeout=-1s"}, nil, "--ready-timeout / READY_TIMEOUT: -1s is not a positive duration of at most 1m0s"},
		{"ready timeout longer than any probe waits", []string{"serve", "--ready-timeout=10h"}, nil, "--ready-timeout / READY_TIMEOUT: 10h0m0s is not a positive duration of at most 1m0s"},
		{"worker's ready timeout too", []string{"worker", "--listen", "127.0.0.1:0"}, map[string]string{"READY_TIMEOUT": "2m"}, "--ready-timeout / READY_TIMEOUT: 2m0s is not a positive duration of at most 1m0s"},
		{"request timeout below its floor", []string{"serve", "--request-timeout", "50ms"}, nil, "--request-timeout / REQUEST_TIMEOUT: 50ms is not from 100ms to 50s"},
		{"request timeout past the write timeout", []string{"serve"}, map[string]string{"REQUEST_TIMEOUT": "2m"}, "--request-timeout / REQUEST_TIMEOUT: 2m0s is not from 100ms to 50s"},
		{"no request timeout", []string{"serve"}, map[string]string{"REQUEST_TIMEOUT": "0"}, "--request-timeout / REQUEST_TIMEOUT: 0s is not from 100ms to 50s"},
		{"negative drift interval", []string{"serve", "--drift-interval=-1h"}, nil, "--drift-interval / DRIFT_INTERVAL: -1h0m0s is negative (0 turns the check off)"},
		{"negative expiry reminder", []string{"worker", "--expiry-reminder=-1h"}, nil, "--expiry-reminder / EXPIRY_REMINDER: -1h0m0s is negative (0 turns reminders off)"},
		{"NaN API rate", []string{"serve"}, map[string]string{"API_RATE_LIMIT": "NaN"}, "--api-rate / API_RATE_LIMIT: NaN is not from 0.01 to 100000 requests per second"},
		{"API rate below its floor", []string{"serve", "--api-rate", "0.001"}, nil, "--api-rate / API_RATE_LIMIT: 0.001 is not from 0.01 to 100000 requests per second"},
		{"NaN IAM rate", []string{"worker", "--iam-rate", "NaN"}, nil, "--iam-rate / IAM_RATE_LIMIT: NaN is not a rate from 0.01 to 1000 calls per second (negative: no limit)"},
		{"IAM rate below its floor", []string{"worker", "--iam-rate", "0.001"}, nil, "--iam-rate / IAM_RATE_LIMIT: 0.001 is not a rate from 0.01 to 1000 calls per second (negative: no limit)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			env := map[string]string{"DATABASE_URL": dbURL, "LISTEN_ADDR": "127.0.0.1:0", "DRIFT_INTERVAL": "0"}
			for k, v := range tc.env {
				env[k] = v
			}
			err := run(ctx, append([]string{"rolegate"}, tc.args...), func(k string) string { return env[k] }, io.Discard, io.Discard)
			if ctx.Err() != nil {
				t.Fatalf("%s ran on until the test's deadline (%v); want it refused at once naming %q", strings.Join(tc.args, " "), err, tc.want)
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("%s: %v\nwant exactly: %s", strings.Join(tc.args, " "), err, tc.want)
			}
		})
	}
}
