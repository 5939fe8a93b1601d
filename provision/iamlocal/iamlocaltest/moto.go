package iamlocaltest

import (
	"bytes"
	"context"
	"errors"
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
	port, err := freePort()
	if err != nil {
		tb.Fatalf("moto: no free port: %v", err)
	}
	var out lockedBuffer
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("moto: start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := waitForMoto(url, exited); err != nil {
		tb.Fatalf("moto: %v; output:\n%s", err, out.String())
	}
	return url
}

// waitForMoto polls url until moto answers, the process exits or the
// start-up timeout passes.
func waitForMoto(url string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), motoStartTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/moto-api/", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case err := <-exited:
			return errors.Join(errors.New("moto_server exited before answering"), err)
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
