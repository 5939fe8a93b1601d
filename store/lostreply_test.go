package store_test

import (
	"bytes"
	"errors"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rolegate/rolegate/store"
	"github.com/rolegate/rolegate/store/storetest"
)

// lossyProxy forwards PostgreSQL connections and, once armed, lets the
// first statement whose text contains a marker reach the server and run
// to its end, then cuts the connection instead of passing its result (a
// one-row SELECT's CommandComplete) on: the client cannot know whether the
// statement committed.
type lossyProxy struct {
	ln       net.Listener
	upstream string
	marker   []byte
	armed    atomic.Bool
	cut      atomic.Int32
	wg       sync.WaitGroup
}

func startLossyProxy(t *testing.T, upstream, marker string) *lossyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyProxy{ln: ln, upstream: upstream, marker: []byte(marker)}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *lossyProxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial(upstreamNetwork(p.upstream), p.upstream)
		if err != nil {
			client.Close()
			continue
		}
		p.wg.Add(2)
		var sent atomic.Bool // the marked statement went to the server
		closeBoth := func() { client.Close(); server.Close() }
		go func() { // client to server
			defer p.wg.Done()
			buf := make([]byte, 64<<10)
			for {
				n, err := client.Read(buf)
				if n > 0 {
					if bytes.Contains(buf[:n], p.marker) && p.armed.CompareAndSwap(true, false) {
						sent.Store(true)
					}
					if _, werr := server.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			closeBoth()
		}()
		go func() { // server to client
			defer p.wg.Done()
			buf := make([]byte, 64<<10)
			for {
				n, err := server.Read(buf)
				if n > 0 && sent.Load() && bytes.Contains(buf[:n], []byte("SELECT 1\x00")) {
					// The statement ran and committed; its answer is lost.
					p.cut.Add(1)
					break
				}
				if n > 0 {
					if _, werr := client.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			closeBoth()
		}()
	}
}

// upstreamAddr is where the server of cfg answers: its Unix socket when
// the host is a directory (a private cluster listens on nothing else),
// else its TCP address.
func upstreamAddr(cfg *pgconn.Config) string {
	if strings.HasPrefix(cfg.Host, "/") {
		return filepath.Join(cfg.Host, ".s.PGSQL."+strconv.Itoa(int(cfg.Port)))
	}
	return net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

func upstreamNetwork(addr string) string {
	if strings.HasPrefix(addr, "/") {
		return "unix"
	}
	return "tcp"
}

// throughProxy is dsn pointed at the proxy.
func throughProxy(t *testing.T, dsn, addr string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Host = addr
		return u.String()
	}
	return dsn + " host=" + host + " port=" + port
}

// TestCreateRequestAnswerLostAfterCommit cuts the connection after
// CreateRequest's statement committed, before its answer arrives. The
// store must neither fail nor write twice: it retries, meets its own row
// on the role name's unique index, recognises it (same requester, same
// creation time) and returns it.
func TestCreateRequestAnswerLostAfterCommit(t *testing.T) {
	t.Parallel()
	dsn := storetest.URL(t)
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startLossyProxy(t, upstreamAddr(cfg), "INSERT INTO requests")
	db := storetest.Open(t, throughProxy(t, dsn, proxy.ln.Addr().String()), store.Options{MaxConns: 2})
	direct := storetest.Open(t, dsn, store.Options{MaxConns: 2})
	ctx := ctxT(t)

	proxy.armed.Store(true)
	created, err := db.CreateRequest(ctx, newRequest("lost-answer", "alice"))
	if err != nil {
		t.Fatalf("CreateRequest after a lost answer: %v", err)
	}
	if proxy.cut.Load() != 1 {
		t.Fatalf("the proxy cut %d answers, want 1: the test proved nothing", proxy.cut.Load())
	}
	page, err := direct.ListRequests(ctx, store.ListFilter{Text: "lost-answer"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Requests) != 1 || page.Requests[0].ID != created.ID {
		t.Fatalf("stored %d requests (want exactly the returned #%d): %+v", len(page.Requests), created.ID, page.Requests)
	}
	events, err := direct.ListEvents(ctx, store.EventFilter{RequestID: created.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].ID != created.Submitted.ID {
		t.Fatalf("events = %+v, want the one returned (%d)", events, created.Submitted.ID)
	}

	// Someone else's request for the name is still refused.
	_, err = db.CreateRequest(ctx, newRequest("LOST-answer", "bob"))
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "already requested or live") {
		t.Fatalf("bob's request for a taken name: %v, want ErrConflict", err)
	}
}
