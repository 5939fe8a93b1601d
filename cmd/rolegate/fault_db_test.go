package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// TestDatabaseConnectionsKilledWhileCreating terminates every connection
// of the server's database, several times, while clients create requests
// through the API. The server must recover by itself, and every request
// that was answered 201 must exist afterwards.
func TestDatabaseConnectionsKilledWhileCreating(t *testing.T) {
	t.Parallel()
	dbURL := storetest.EmptyURL(t)
	base, _, _, logs := startServe(t, dbURL, "--api-rate", "100000", "--api-burst", "100000", "--no-worker")
	admin := storetest.Open(t, dbURL, store.Options{MaxConns: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, token, err := admin.CreateToken(ctx, store.NewToken{User: "alice", CreatedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 20 * time.Second}
	create := func(name string) (int, string) {
		body := fmt.Sprintf(`{"name": %q, "justification": "load", "buckets": [{"bucket": "example-bucket", "access": "read"}]}`, name)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/requests", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location") + " " + string(bytes.TrimSpace(b))
	}

	const writers, each = 4, 40
	var (
		mu       sync.Mutex
		created  []int64
		statuses = map[int]int{}
		wg       sync.WaitGroup
	)
	stopKilling := make(chan struct{})
	killed := make(chan int, 1)
	go func() {
		n := 0
		defer func() { killed <- n }()
		for {
			select {
			case <-stopKilling:
				return
			default:
			}
			// Every backend of the server's database but our own.
			var k int
			err := admin.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))
				FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&k)
			if err == nil {
				n += k
			}
			select {
			case <-stopKilling:
				return
			case <-time.After(250 * time.Millisecond): // pacing of the faults, not a wait for a condition
			}
		}
	}()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				code, detail := create(fmt.Sprintf("load-%d-%d", w, i))
				mu.Lock()
				statuses[code]++
				if code == http.StatusCreated {
					loc := strings.Fields(detail)[0]
					id, err := strconv.ParseInt(loc[strings.LastIndex(loc, "/")+1:], 10, 64)
					if err != nil {
						t.Errorf("201 without a usable Location: %q", detail)
					}
					created = append(created, id)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stopKilling)
	terminated := <-killed
	t.Logf("statuses %v; %d connections terminated", statuses, terminated)
	if terminated == 0 {
		t.Fatal("no connection was terminated: the test proved nothing")
	}
	for code := range statuses {
		// 503 (with Retry-After) is the honest answer while the database
		// is away; anything else, 500 included, is a bug.
		if code != http.StatusCreated && code != http.StatusServiceUnavailable {
			t.Errorf("unexpected status %d during the faults", code)
		}
	}
	// Recovered without a restart: a new request goes through. Each
	// connection terminated in the pool's last second may still answer one
	// honest 503 (pgxpool pings only connections idle for longer), so a
	// 503 is retried, at most once per pooled connection.
	var code int
	var detail string
	for try := 0; try <= 20; try++ {
		if code, detail = create(fmt.Sprintf("after-the-storm-%d", try)); code != http.StatusServiceUnavailable {
			break
		}
	}
	if code != http.StatusCreated {
		t.Fatalf("after the faults: %d %s\n%s", code, detail, logs)
	}
	for _, id := range created {
		if _, err := admin.GetRequest(ctx, id); err != nil {
			t.Errorf("request %d was answered 201 but is gone: %v", id, err)
		}
	}
	if len(created) == 0 {
		t.Fatal("no request was created during the faults")
	}
}
