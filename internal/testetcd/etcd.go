package testetcd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Etcd is a running etcd for a test: an [Embedded] server or an external [Cluster].
type Etcd interface {
	// Endpoints returns the client URLs, such as http://127.0.0.1:40123.
	Endpoints() []string
	// Client returns a client for all endpoints, closed when the test ends.
	Client() *clientv3.Client
}

var (
	_ Etcd = (*Embedded)(nil)
	_ Etcd = (*Cluster)(nil)
)

const (
	// startTimeout bounds how long a server or cluster may take to serve.
	startTimeout = 30 * time.Second
	// startAttempts is how often a start is tried with fresh ports when a
	// port was taken between choosing it and binding it.
	startAttempts = 3
	// logTailLines is how much of each etcd log a failed test prints.
	logTailLines = 40
)

// newClient returns a client for endpoints that does not log and does not
// block: its first request waits for a connection instead.
func newClient(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints: endpoints,
		Logger:    zap.NewNop(),
	})
}

// checkReadWrite puts a key and reads it back through c.
func checkReadWrite(ctx context.Context, c *clientv3.Client) error {
	const key = "/testetcd/ready"
	if _, err := c.Put(ctx, key, "ok"); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	resp, err := c.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "ok" {
		return fmt.Errorf("get %s: got %d keys, want the value just put", key, len(resp.Kvs))
	}
	return nil
}

// freePorts returns n distinct TCP ports on 127.0.0.1 that were free a moment
// ago. All n listeners are open at once, so the ports differ; another process
// may still take one before etcd binds it, which the callers retry.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// isAddrInUse reports whether err is a failure to bind a taken port.
func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || (err != nil && strings.Contains(err.Error(), "address already in use"))
}

// logTail writes the last lines of the file at path to the test log.
func logTail(t testing.TB, what, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Logf("%s: no log: %v", what, err)
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > logTailLines {
			lines = lines[1:]
		}
	}
	if len(lines) == 0 {
		t.Logf("%s: log %s is empty", what, path)
		return
	}
	t.Logf("%s: last %d lines of %s:\n%s", what, len(lines), path, strings.Join(lines, "\n"))
}
