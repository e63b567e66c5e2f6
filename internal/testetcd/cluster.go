package testetcd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Cluster is a cluster of etcd processes started by StartCluster.
//
// Its methods must be called from the test's goroutine: they fail the test
// with t.Fatalf.
type Cluster struct {
	t       testing.TB
	bin     string
	members []*member
	client  *clientv3.Client
}

// member is one etcd process of a Cluster, started once or more.
type member struct {
	name      string
	clientURL string
	logPath   string
	args      []string
	proc      *process // nil when not running
}

// process is one run of a member.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // why it exited; set before done is closed
}

// StartCluster starts an n-member etcd cluster from the etcd binary on PATH,
// on free 127.0.0.1 ports, with data directories and logs in t.TempDir(). It
// returns once a client for all members can put and get a key; t.Cleanup
// kills every member. Without etcd on PATH the test is skipped (or, with
// CI=true, failed).
//
// The flags are those etcd 3.4 (Debian bookworm) and later understand alike.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("StartCluster: n = %d, want at least 1", n)
	}
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("etcd not installed: apt-get install etcd-server (CI=true, so not skipping)")
		}
		t.Skip("etcd not installed: apt-get install etcd-server")
	}

	base := t.TempDir() // first, so that it is removed after c.cleanup has read the logs
	c := &Cluster{t: t, bin: bin}
	t.Cleanup(c.cleanup)

	for attempt := 1; ; attempt++ {
		dir := filepath.Join(base, fmt.Sprintf("start%d", attempt))
		err := c.start(dir, n)
		if err == nil {
			break
		}
		inUse := c.anyLogSays("address already in use")
		if !inUse || attempt == startAttempts {
			t.Fatalf("start etcd cluster of %d: %v", n, err)
		}
		t.Logf("etcd cluster: a port was taken, starting again on other ports")
		c.killAll()
		c.members = nil
	}

	c.client, err = newClient(c.Endpoints())
	if err != nil {
		t.Fatalf("etcd cluster: client: %v", err)
	}
	return c
}

// start starts n members with their files under dir and waits until they
// serve together.
func (c *Cluster) start(dir string, n int) error {
	ports, err := freePorts(2 * n)
	if err != nil {
		return err
	}
	peers := make([]string, n)
	for i := range n {
		peers[i] = fmt.Sprintf("m%d=http://127.0.0.1:%d", i, ports[2*i+1])
	}
	token := uniqueToken()
	for i := range n {
		clientURL := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i])
		peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[2*i+1])
		m := &member{
			name:      fmt.Sprintf("m%d", i),
			clientURL: clientURL,
			logPath:   filepath.Join(dir, fmt.Sprintf("m%d.log", i)),
		}
		m.args = []string{
			"--name", m.name,
			"--data-dir", filepath.Join(dir, m.name), // etcd creates it, mode 0700
			"--listen-client-urls", clientURL,
			"--advertise-client-urls", clientURL,
			"--listen-peer-urls", peerURL,
			"--initial-advertise-peer-urls", peerURL,
			"--initial-cluster", strings.Join(peers, ","),
			"--initial-cluster-state", "new", // ignored once the data dir exists
			"--initial-cluster-token", token,
			// etcd 3.4 defaults to the deprecated capnslog logger and no pre-vote;
			// ask for what 3.5 and later do by default.
			"--logger", "zap",
			"--log-outputs", "stderr",
			"--pre-vote=true",
		}
		c.members = append(c.members, m)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, m := range c.members {
		if err := c.run(m); err != nil {
			return err
		}
	}
	return c.waitServing(c.Endpoints(), c.members)
}

// run starts member m's process, with its output appended to its log.
func (c *Cluster) run(m *member) error {
	logFile, err := os.OpenFile(m.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor
	fmt.Fprintf(logFile, "=== testetcd: %s %s\n", c.bin, strings.Join(m.args, " "))

	cmd := exec.Command(c.bin, m.args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Env = etcdEnv()
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", m.name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	m.proc = p
	return nil
}

// etcdEnv is the test's environment without ETCD_* variables, which etcd
// would read as flags.
func etcdEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "ETCD_") || strings.HasPrefix(kv, "ETCDCTL_")
	})
	if runtime.GOARCH != "amd64" {
		// etcd 3.4 refuses to start on other architectures without this.
		env = append(env, "ETCD_UNSUPPORTED_ARCH="+runtime.GOARCH)
	}
	return env
}

// waitServing waits until a client for endpoints can put and get a key,
// failing early when one of members exits.
func (c *Cluster) waitServing(endpoints []string, members []*member) error {
	client, err := newClient(endpoints)
	if err != nil {
		return err
	}
	defer client.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		for _, m := range members {
			select {
			case <-m.proc.done:
				return fmt.Errorf("%s exited while starting: %v (log: %s)", m.name, m.proc.err, m.logPath)
			default:
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := checkReadWrite(ctx, client)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not serving after %v: %w", startTimeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Endpoints returns the client URLs of all members, in member order, whether
// running or not.
func (c *Cluster) Endpoints() []string {
	eps := make([]string, len(c.members))
	for i, m := range c.members {
		eps[i] = m.clientURL
	}
	return eps
}

// Client returns a client for all members, closed when the test ends.
func (c *Cluster) Client() *clientv3.Client { return c.client }

// Kill kills member i with SIGKILL, as a crash or power loss would, and waits
// until it has exited.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	m := c.member(i)
	if m.proc == nil {
		c.t.Fatalf("etcd cluster: Kill(%d): %s is not running", i, m.name)
	}
	if err := kill(m.proc); err != nil {
		c.t.Fatalf("etcd cluster: Kill(%d): %v", i, err)
	}
	m.proc = nil
}

// Restart starts member i again on the same data directory and ports, killing
// it first if it is still running. It returns once the member serves reads and
// writes through its own endpoint.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	m := c.member(i)
	if m.proc != nil {
		if err := kill(m.proc); err != nil {
			c.t.Fatalf("etcd cluster: Restart(%d): %v", i, err)
		}
		m.proc = nil
	}
	if err := c.run(m); err != nil {
		c.t.Fatalf("etcd cluster: Restart(%d): %v", i, err)
	}
	if err := c.waitServing([]string{m.clientURL}, []*member{m}); err != nil {
		c.t.Fatalf("etcd cluster: Restart(%d): %v", i, err)
	}
}

func (c *Cluster) member(i int) *member {
	c.t.Helper()
	if i < 0 || i >= len(c.members) {
		c.t.Fatalf("etcd cluster: no member %d in a cluster of %d", i, len(c.members))
	}
	return c.members[i]
}

// kill sends SIGKILL to p and waits until it has exited.
func kill(p *process) error {
	select {
	case <-p.done:
		return nil // exited already
	default:
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("pid %d did not exit after SIGKILL", p.cmd.Process.Pid)
	}
}

// killAll kills every running member.
func (c *Cluster) killAll() {
	for _, m := range c.members {
		if m.proc == nil {
			continue
		}
		if err := kill(m.proc); err != nil {
			c.t.Errorf("etcd cluster: %s: %v", m.name, err)
		}
		m.proc = nil
	}
}

func (c *Cluster) cleanup() {
	if c.client != nil {
		c.client.Close()
	}
	c.killAll()
	if c.t.Failed() {
		for _, m := range c.members {
			logTail(c.t, "etcd "+m.name, m.logPath)
		}
	}
}

// anyLogSays reports whether the log of any member contains s.
func (c *Cluster) anyLogSays(s string) bool {
	for _, m := range c.members {
		b, err := os.ReadFile(m.logPath)
		if err == nil && strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}
