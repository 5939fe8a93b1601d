package iamlocaltest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// motoStartTimeout bounds how long StartMoto waits for moto_server to answer.
const motoStartTimeout = 60 * time.Second

// StartMoto starts moto_server on a free local port, waits until it
// answers and kills it in tb.Cleanup; it returns its base URL. When
// moto_server is not on PATH the test is skipped, naming the test, or fails
// when the environment sets REQUIRE_MOTO=1. It fails the test when moto
// does not come up.
func StartMoto(tb testing.TB) string {
	tb.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("REQUIRE_MOTO") == "1" {
			tb.Fatalf("moto_server not installed but REQUIRE_MOTO=1: %s cannot run against moto", tb.Name())
		}
		tb.Skipf("moto_server not installed: %s skipped (pip install 'moto[server]' to run it)", tb.Name())
	}
	return startMoto(tb, bin, freePort)
}

// motoPortTries is how many ports startMoto tries: a free port found by
// listening and closing may be taken by another test's server before
// moto_server binds it.
const motoPortTries = 5

// startMoto runs bin on ports from port until one comes up as moto. A
// port another server took first fails moto_server's bind (it exits) and
// is never mistaken for moto: only moto answers its own API (waitForMoto).
// Taken for it, another test's endpoint got this test's calls, and this
// test ran against that endpoint.
func startMoto(tb testing.TB, bin string, port func() (int, error)) string {
	tb.Helper()
	var failures []error
	for range motoPortTries {
		p, err := port()
		if err != nil {
			tb.Fatalf("moto: no free port: %v", err)
		}
		var out lockedBuffer
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(p))
		cmd.Stdout = &out
		cmd.Stderr = &out
		if err := cmd.Start(); err != nil {
			tb.Fatalf("moto: start %s: %v", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		url := "http://127.0.0.1:" + strconv.Itoa(p)
		err = waitForMoto(url, exited)
		if err == nil {
			tb.Cleanup(func() {
				cmd.Process.Kill()
				<-exited
			})
			return url
		}
		cmd.Process.Kill()
		failures = append(failures, fmt.Errorf("port %d: %w; output:\n%s", p, err, out.String()))
		if !errors.Is(err, errMotoExited) {
			break
		}
	}
	tb.Fatalf("moto: %v", errors.Join(failures...))
	return ""
}

var errMotoExited = errors.New("moto_server exited before answering")

// waitForMoto polls url until moto answers its own API (GET
// /moto-api/data.json, 200), the process exits or the start-up timeout
// passes. Any other answer is another server's.
func waitForMoto(url string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), motoStartTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/moto-api/data.json", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			var state map[string]any
			isMoto := resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&state) == nil
			resp.Body.Close()
			if isMoto {
				return nil
			}
		}
		select {
		case err := <-exited:
			return errors.Join(errMotoExited, err)
		case <-ctx.Done():
			return errors.New("moto_server did not answer within " + motoStartTimeout.String())
		case <-tick.C:
		}
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// lockedBuffer collects the process output written from exec's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
