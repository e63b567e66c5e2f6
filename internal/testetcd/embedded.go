package testetcd

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Embedded is a single etcd server running inside the test process.
type Embedded struct {
	endpoints []string
	client    *clientv3.Client
}

// Endpoints returns the server's client URL.
func (e *Embedded) Endpoints() []string { return slices.Clone(e.endpoints) }

// Client returns a client for the server, closed when the test ends.
func (e *Embedded) Client() *clientv3.Client { return e.client }

// StartEmbedded starts an etcd server in the test process, on free loopback
// ports, with its data and its log (warnings and errors only) in t.TempDir().
// It returns once the server serves; t.Cleanup stops it.
//
// The server is configured as berth's own embedded etcd would be: fsync on,
// default raft timing. Starting takes well under a second.
func StartEmbedded(t testing.TB) *Embedded {
	t.Helper()
	base := t.TempDir() // first, so that it is removed after the cleanup below has read the log
	logPath := filepath.Join(base, "etcd.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatalf("embedded etcd: %v", err)
	}
	lg := zap.New(zapcore.NewCore(
		zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
		zapcore.AddSync(logFile),
		zapcore.WarnLevel,
	))

	var (
		server *embed.Etcd
		client *clientv3.Client
	)
	t.Cleanup(func() {
		if client != nil {
			client.Close()
		}
		if server != nil {
			server.Close() // returns once the server has stopped
		}
		lg.Sync()
		logFile.Close()
		if t.Failed() {
			logTail(t, "embedded etcd", logPath)
		}
	})

	dataDir := filepath.Join(base, "data")
	for attempt := 1; ; attempt++ {
		server, err = startEmbedded(dataDir, lg)
		if err == nil {
			break
		}
		if !isAddrInUse(err) || attempt == startAttempts {
			t.Fatalf("start embedded etcd: %v", err)
		}
		if err := os.RemoveAll(dataDir); err != nil {
			t.Fatalf("start embedded etcd: %v", err)
		}
	}

	endpoints := make([]string, 0, len(server.Clients))
	for _, l := range server.Clients {
		endpoints = append(endpoints, "http://"+l.Addr().String())
	}
	client, err = newClient(endpoints)
	if err != nil {
		t.Fatalf("embedded etcd: client for %v: %v", endpoints, err)
	}
	return &Embedded{endpoints: endpoints, client: client}
}

// startEmbedded starts one etcd server with its data in dataDir and waits
// until it serves.
func startEmbedded(dataDir string, lg *zap.Logger) (*embed.Etcd, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	clientURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[0])}
	peerURL := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[1])}

	cfg := embed.NewConfig()
	cfg.Name = "testetcd"
	cfg.Dir = dataDir
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.InitialClusterToken = uniqueToken()
	cfg.Logger = "zap"
	cfg.LogLevel = "warn"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg)

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("etcd stopped while starting: %w", err)
	case <-timer.C:
		e.Server.Stop()
		e.Close()
		return nil, fmt.Errorf("etcd not ready after %v", startTimeout)
	}
}

var tokens atomic.Int64

// uniqueToken returns an --initial-cluster-token no other etcd started by
// this or another test process uses, so that members of different test
// clusters never join each other.
func uniqueToken() string {
	return fmt.Sprintf("testetcd-%d-%d-%d", os.Getpid(), time.Now().UnixNano(), tokens.Add(1))
}
