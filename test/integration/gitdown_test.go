package integration

import (
	"net"
	"net/http"
	"net/http/cgi"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/sync"
)

// flakyGitServer serves the bare repositories under a directory over smart
// HTTP (git http-backend) on one loopback address, and can go away (its
// listener closed, connections refused) and come back on the same address.
type flakyGitServer struct {
	t       *testing.T
	addr    string
	handler http.Handler
	srv     *http.Server
}

func newFlakyGitServer(t *testing.T, root string) *flakyGitServer {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("git is not installed (git --exec-path: %v); CI installs it", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	g := &flakyGitServer{t: t, handler: &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = l.Addr().String()
	g.serve(l)
	t.Cleanup(g.down)
	return g
}

func (g *flakyGitServer) serve(l net.Listener) {
	g.srv = &http.Server{Handler: g.handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = g.srv.Serve(l) }()
}

// down closes the listener and every connection.
func (g *flakyGitServer) down() {
	if g.srv != nil {
		_ = g.srv.Close()
		g.srv = nil
	}
}

// up serves again on the same address.
func (g *flakyGitServer) up() {
	g.t.Helper()
	l, err := net.Listen("tcp", g.addr)
	if err != nil {
		g.t.Fatalf("listen again on %s: %v", g.addr, err)
	}
	g.serve(l)
}

// TestGitServerGoesAway: when the git server goes away the cluster stays as
// it is (nothing pruned or changed) and the source turns Failed with the
// fetch error; when it returns, the source catches up with what was pushed
// meanwhile, by itself.
func TestGitServerGoesAway(t *testing.T) {
	root := t.TempDir()
	srv := newFlakyGitServer(t, root)
	startSync(t)
	ns := testNamespace(t, shared)
	src := "flaky-" + ns
	bare := filepath.Join(root, "repo.git")
	rev := pushBare(t, bare, map[string]string{"cm.yaml": configMapYAML(ns, "kept")})
	createSource(t, ns, src, "http://"+srv.addr+"/repo.git", ".", nil)
	deleteSourceAtEnd(t, ns, src)
	waitApplied(t, ns, src, rev, false)
	cm, err := shared.Client.CoreV1().ConfigMaps(ns).Get(ctx(t), "kept", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	srv.down()
	st := waitFetchFailed(t, ns, src)
	if !strings.Contains(st.LastError, srv.addr) || st.AppliedRevision != rev {
		t.Errorf("with the git server gone: lastError %q, applied %s; want an error naming %s, %s still applied", st.LastError, st.AppliedRevision, srv.addr, rev[:8])
	}
	time.Sleep(2 * time.Second) // a few more failed fetches (the interval is 1s)
	if now, err := shared.Client.CoreV1().ConfigMaps(ns).Get(ctx(t), "kept", metav1.GetOptions{}); err != nil || now.ResourceVersion != cm.ResourceVersion {
		t.Errorf("the ConfigMap changed while git was away: %v, resourceVersion %s then %v", err, cm.ResourceVersion, now)
	}

	// A push while the server is away (straight into its repository).
	work := newGitRepo(t)
	if _, err := work.repo.CreateRemote(&config.RemoteConfig{Name: "server", URLs: []string{bare}}); err != nil {
		t.Fatal(err)
	}
	if err := work.repo.Fetch(&git.FetchOptions{RemoteName: "server", RefSpecs: []config.RefSpec{"refs/heads/main:refs/heads/main"}}); err != nil {
		t.Fatal(err)
	}
	wt, _ := work.repo.Worktree()
	if err := wt.Checkout(&git.CheckoutOptions{Branch: "refs/heads/main", Force: true}); err != nil {
		t.Fatal(err)
	}
	rev2 := work.commit("while away", map[string]string{"cm2.yaml": configMapYAML(ns, "added")})
	if err := work.repo.Push(&git.PushOptions{RemoteName: "server", RefSpecs: []config.RefSpec{"refs/heads/main:refs/heads/main"}}); err != nil {
		t.Fatal(err)
	}

	srv.up()
	st = waitApplied(t, ns, src, rev2, false)
	if st.Phase == sync.PhaseFailed || st.LastError != "" {
		t.Errorf("after the git server came back: phase %s, lastError %q", st.Phase, st.LastError)
	}
	for _, name := range []string{"kept", "added"} {
		if _, err := shared.Client.CoreV1().ConfigMaps(ns).Get(ctx(t), name, metav1.GetOptions{}); err != nil {
			t.Errorf("ConfigMap %s after recovery: %v", name, err)
		}
	}
}
