package testetcd

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestEmbeddedPutGet(t *testing.T) {
	e := StartEmbedded(t)
	if len(e.Endpoints()) != 1 {
		t.Fatalf("Endpoints() = %v, want one", e.Endpoints())
	}
	ctx := testContext(t)
	put(ctx, t, e.Client(), "/a", "1")

	// A client of the caller's own, from Endpoints, sees the same data.
	c, err := newClient(e.Endpoints())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := get(ctx, t, c, "/a"); got != "1" {
		t.Fatalf("get /a = %q, want %q", got, "1")
	}
}

func TestEmbeddedServersAreSeparate(t *testing.T) {
	a, b := StartEmbedded(t), StartEmbedded(t)
	ctx := testContext(t)
	put(ctx, t, a.Client(), "/only-in-a", "x")
	if got := get(ctx, t, b.Client(), "/only-in-a"); got != "" {
		t.Fatalf("second server has /only-in-a = %q, want nothing", got)
	}
}

func TestClusterPutGet(t *testing.T) {
	c := StartCluster(t, 3)
	if n := len(c.Endpoints()); n != 3 {
		t.Fatalf("Endpoints() = %v, want 3", c.Endpoints())
	}
	ctx := testContext(t)
	put(ctx, t, c.Client(), "/a", "1")

	// Every member serves the value: a linearizable read through each
	// member's own endpoint.
	for i, ep := range c.Endpoints() {
		mc, err := newClient([]string{ep})
		if err != nil {
			t.Fatal(err)
		}
		if got := get(ctx, t, mc, "/a"); got != "1" {
			t.Errorf("member %d: get /a = %q, want %q", i, got, "1")
		}
		mc.Close()
	}

	status, err := c.Client().Status(ctx, c.Endpoints()[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("external etcd version %s", status.Version)
}

func TestClusterWritesContinueWhenLeaderIsKilled(t *testing.T) {
	c := StartCluster(t, 3)
	ctx := testContext(t)
	client := c.Client()
	put(ctx, t, client, "/before", "1")

	leader := leaderIndex(ctx, t, c)
	c.Kill(leader)

	// The two others elect a leader; the client moves to them. A write that
	// was in flight to the dead member may fail once, so each write is
	// retried, as the API server's storage layer does.
	for i := range 20 {
		putRetrying(ctx, t, client, fmt.Sprintf("/after/%02d", i), "v")
	}
	resp, err := client.Get(ctx, "/after/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count != 20 {
		t.Fatalf("%d keys under /after/ after the kill, want 20", resp.Count)
	}
	// (A read-only call to a dead endpoint is retried until its context ends.)
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	_, err = client.Status(sctx, c.Endpoints()[leader])
	cancel()
	if err == nil {
		t.Fatalf("killed member %d still answers", leader)
	}

	// Back on its old data directory, the member catches up.
	c.Restart(leader)
	mc, err := newClient([]string{c.Endpoints()[leader]})
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	for _, key := range []string{"/before", "/after/19"} {
		if got := get(ctx, t, mc, key); got == "" {
			t.Errorf("restarted member %d: %s missing", leader, key)
		}
	}
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func put(ctx context.Context, t *testing.T, c *clientv3.Client, key, value string) {
	t.Helper()
	if _, err := c.Put(ctx, key, value); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// putRetrying puts key, retrying for up to 10 seconds.
func putRetrying(ctx context.Context, t *testing.T, c *clientv3.Client, key, value string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := c.Put(pctx, key, value)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("put %s: still failing after 10s: %v", key, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get returns the value of key, or "" if there is none.
func get(ctx context.Context, t *testing.T, c *clientv3.Client, key string) string {
	t.Helper()
	resp, err := c.Get(ctx, key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	if len(resp.Kvs) == 0 {
		return ""
	}
	return string(resp.Kvs[0].Value)
}

// leaderIndex returns the index of the cluster's leader.
func leaderIndex(ctx context.Context, t *testing.T, c *Cluster) int {
	t.Helper()
	for i, ep := range c.Endpoints() {
		s, err := c.Client().Status(ctx, ep)
		if err != nil {
			t.Fatalf("status of member %d: %v", i, err)
		}
		if s.Leader == s.Header.MemberId {
			return i
		}
	}
	t.Fatal("no member says it is the leader")
	return -1
}
