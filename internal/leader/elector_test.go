package leader

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/berth-dev/berth/internal/testetcd"
)

// candidate is one Elector under test with what its Lead saw.
type candidate struct {
	el     *Elector
	cancel context.CancelFunc
	done   chan struct{} // closed when Run has returned
	err    error         // Run's result, set before done is closed
	terms  chan struct{} // one value per Lead call, sent when it starts
	ended  chan struct{} // one value per Lead call, sent when it returns
}

// start runs a candidate named id. leading counts the candidates inside
// Lead at once; Lead fails the test if it finds another there.
func start(t *testing.T, client *clientv3.Client, id string, leading *atomic.Int32, lead func(ctx context.Context) error, mutate ...func(*Options)) *candidate {
	t.Helper()
	c := &candidate{done: make(chan struct{}), terms: make(chan struct{}, 10), ended: make(chan struct{}, 10)}
	if lead == nil {
		lead = func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		}
	}
	opts := Options{
		Client: client, Identity: id, TTL: 2 * time.Second, RetryInterval: 100 * time.Millisecond,
		Prefix: "/test-election/",
		Lead: func(ctx context.Context) error {
			if leading != nil {
				if n := leading.Add(1); n != 1 {
					t.Errorf("%s leads while %d others do", id, n-1)
				}
				defer leading.Add(-1)
			}
			c.terms <- struct{}{}
			defer func() { c.ended <- struct{}{} }()
			return lead(ctx)
		},
	}
	for _, m := range mutate {
		m(&opts)
	}
	el, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c.el = el
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() {
		c.err = el.Run(ctx)
		close(c.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-c.done
	})
	return c
}

func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOneLeadsAndHandsOverOnShutdown(t *testing.T) {
	etcd := testetcd.StartEmbedded(t)
	var leading atomic.Int32
	a := start(t, etcd.Client(), "a", &leading, nil)
	wait(t, a.terms, "a to lead")
	b := start(t, etcd.Client(), "b", &leading, nil)
	eventually(t, "b to observe a as leader", func() bool { return b.el.Leader() == "a" })
	if b.el.Leading() {
		t.Fatal("b leads while a does")
	}
	if !a.el.Leading() {
		t.Fatal("a does not report that it leads")
	}

	a.cancel()
	wait(t, a.done, "a's Run to return")
	if a.err != nil {
		t.Fatalf("a's Run: %v", a.err)
	}
	wait(t, b.terms, "b to lead after a resigned")
	if got := b.el.Leader(); got != "b" {
		t.Errorf("b's Leader() = %q, want b", got)
	}
}

func TestLostSessionStopsLeadAndCampaignsAgain(t *testing.T) {
	etcd := testetcd.StartEmbedded(t)
	a := start(t, etcd.Client(), "a", nil, nil)
	wait(t, a.terms, "a to lead")
	b := start(t, etcd.Client(), "b", nil, nil)
	eventually(t, "b to observe a as leader", func() bool { return b.el.Leader() == "a" })

	// What etcd does to a leader that stopped renewing: its lease goes, and
	// its key with it.
	ctx := context.Background()
	resp, err := etcd.Client().Get(ctx, "/test-election/", clientv3.WithFirstCreate()...)
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("find the leader's key: %v %v", resp, err)
	}
	if string(resp.Kvs[0].Value) != "a" {
		t.Fatalf("first key holds %q, want a", resp.Kvs[0].Value)
	}
	if _, err := etcd.Client().Revoke(ctx, clientv3.LeaseID(resp.Kvs[0].Lease)); err != nil {
		t.Fatalf("revoke a's lease: %v", err)
	}
	wait(t, a.ended, "a's Lead to end with its session")
	wait(t, b.terms, "b to lead")

	// a campaigns again and leads once b steps down.
	eventually(t, "a to observe b as leader", func() bool { return a.el.Leader() == "b" })
	b.cancel()
	wait(t, a.terms, "a to lead again")
}

func TestLeadErrorEndsRun(t *testing.T) {
	etcd := testetcd.StartEmbedded(t)
	boom := errors.New("boom")
	a := start(t, etcd.Client(), "a", nil, func(ctx context.Context) error { return boom })
	wait(t, a.done, "Run to return")
	if !errors.Is(a.err, boom) {
		t.Fatalf("Run = %v, want %v", a.err, boom)
	}
	// a resigned: b leads at once.
	b := start(t, etcd.Client(), "b", nil, nil)
	wait(t, b.terms, "b to lead")
}

func TestNewChecksOptions(t *testing.T) {
	etcd := testetcd.StartEmbedded(t)
	lead := func(context.Context) error { return nil }
	for _, tc := range []struct {
		name string
		opts Options
		ok   bool
	}{
		{"complete", Options{Client: etcd.Client(), Identity: "a", Lead: lead}, true},
		{"no client", Options{Identity: "a", Lead: lead}, false},
		{"no identity", Options{Client: etcd.Client(), Lead: lead}, false},
		{"no lead", Options{Client: etcd.Client(), Identity: "a"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			el, err := New(tc.opts)
			if (err == nil) != tc.ok {
				t.Fatalf("New: err = %v, want ok=%v", err, tc.ok)
			}
			if el != nil && (el.opts.Prefix != DefaultPrefix || el.ttl != int(DefaultTTL/time.Second)) {
				t.Errorf("defaults not filled: %+v", fmt.Sprint(el.opts.Prefix, el.ttl))
			}
		})
	}
}
