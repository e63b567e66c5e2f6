package integration

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/sync"
)

// TestGitAuthHTTP: a repository served over smart HTTP by the real git http-backend
// behind basic auth syncs with the credentials of the source's Secret; a wrong
// password or no Secret fails the fetch, says so in the status and creates nothing.
func TestGitAuthHTTP(t *testing.T) {
	root := t.TempDir()
	url := serveGitHTTP(t, root, "berth", "pw")
	startSync(t)
	for _, tc := range []struct {
		name   string
		secret map[string]string // nil: no secretRef
		ok     bool
	}{
		{name: "right password", secret: map[string]string{"username": "berth", "password": "pw"}, ok: true},
		{name: "wrong password", secret: map[string]string{"username": "berth", "password": "not-the-password"}},
		{name: "no secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := testNamespace(t, shared)
			// A source name of its own: the ownership label holds the name and not the
			// namespace, so a same-named source of another test would prune our objects.
			src, repo := "auth-"+ns, "repo-"+ns+".git"
			rev := pushBare(t, filepath.Join(root, repo), map[string]string{"cm.yaml": configMapYAML(ns, "served")})
			createSource(t, ns, src, url+"/"+repo, ".", func(gs *berthv1.GitSource) {
				if tc.secret != nil {
					createCredentials(t, ns, "creds", tc.secret)
					gs.Spec.SecretRef = &berthv1.LocalObjectReference{Name: "creds"}
				}
			})
			deleteSourceAtEnd(t, ns, src)
			if tc.ok {
				st := waitApplied(t, ns, src, rev, false)
				if len(st.Objects) != 1 || st.Objects[0].State != sync.StateCreated {
					t.Errorf("objects after the first sync: %+v", st.Objects)
				}
				if _, err := shared.Client.CoreV1().ConfigMaps(ns).Get(ctx(t), "served", metav1.GetOptions{}); err != nil {
					t.Errorf("configmap from the served repository: %v", err)
				}
				return
			}
			st := waitFetchFailed(t, ns, src)
			if !strings.Contains(st.LastError, "authentication required") {
				t.Errorf("lastError %q, want an authentication error", st.LastError)
			}
			if strings.Contains(st.LastError, "not-the-password") || strings.Contains(st.Message, "not-the-password") {
				t.Errorf("status shows the password: %+v", st)
			}
			if st.AppliedRevision != "" || len(st.Objects) != 0 {
				t.Errorf("a failed fetch applied something: %+v", st)
			}
			if _, err := shared.Client.CoreV1().ConfigMaps(ns).Get(ctx(t), "served", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("configmap behind a failed fetch: %v, want none", err)
			}
		})
	}
}

// TestGitAuthSSH: a repository served over ssh (an in-process server running the real
// git upload-pack) syncs with the identity and known_hosts of the source's Secret,
// and a known_hosts that holds another key for the host refuses to connect.
func TestGitAuthSSH(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed; the ssh server runs git upload-pack")
	}
	root := t.TempDir()
	hostSigner, host := newSSHKey(t)
	_, client := newSSHKey(t)
	_, impostor := newSSHKey(t)
	addr := serveGitSSH(t, root, hostSigner, client.pub)
	startSync(t)
	for _, tc := range []struct {
		name    string
		hostKey ssh.PublicKey // what known_hosts holds for addr
		ok      bool
	}{
		{name: "known host", hostKey: host.pub, ok: true},
		{name: "host key mismatch", hostKey: impostor.pub},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := testNamespace(t, shared)
			// A source name of its own: the ownership label holds the name and not the
			// namespace, so a same-named source of another test would prune our objects.
			src, repo := "auth-"+ns, "repo-"+ns+".git"
			rev := pushBare(t, filepath.Join(root, repo), map[string]string{"cm.yaml": configMapYAML(ns, "served")})
			createCredentials(t, ns, "creds", map[string]string{
				"identity":    string(client.pem),
				"known_hosts": knownhosts.Line([]string{addr}, tc.hostKey) + "\n",
			})
			createSource(t, ns, src, "ssh://git@"+addr+"/"+repo, ".", func(gs *berthv1.GitSource) {
				gs.Spec.SecretRef = &berthv1.LocalObjectReference{Name: "creds"}
			})
			deleteSourceAtEnd(t, ns, src)
			if tc.ok {
				waitApplied(t, ns, src, rev, false)
				if _, err := shared.Client.CoreV1().ConfigMaps(ns).Get(ctx(t), "served", metav1.GetOptions{}); err != nil {
					t.Errorf("configmap from the served repository: %v", err)
				}
				return
			}
			st := waitFetchFailed(t, ns, src)
			if !strings.Contains(st.LastError, "key mismatch") {
				t.Errorf("lastError %q, want a host key mismatch", st.LastError)
			}
			if _, err := shared.Client.CoreV1().ConfigMaps(ns).Get(ctx(t), "served", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("configmap behind a refused host: %v, want none", err)
			}
		})
	}
}

func configMapYAML(ns, name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: " + ns + "}\ndata: {from: git}\n"
}

func createCredentials(t *testing.T, ns, name string, data map[string]string) {
	t.Helper()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string][]byte{}}
	for k, v := range data {
		sec.Data[k] = []byte(v)
	}
	if _, err := shared.Client.CoreV1().Secrets(ns).Create(ctx(t), sec, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// deleteSourceAtEnd deletes a source when the test ends, so that the controllers of
// later tests do not keep fetching from this test's closed server.
func deleteSourceAtEnd(t *testing.T, ns, name string) {
	t.Cleanup(func() {
		dyn := dynamic.NewForConfigOrDie(shared.Config)
		_ = dyn.Resource(registry.GitSources().GroupVersionResource()).Namespace(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
}

// waitFetchFailed waits until a source failed to fetch.
func waitFetchFailed(t *testing.T, ns, name string) berthv1.GitSourceStatus {
	t.Helper()
	var st berthv1.GitSourceStatus
	eventually(t, 20*time.Second, "a failed fetch", func() bool {
		st = sourceStatus(t, ns, name)
		return st.Phase == sync.PhaseFailed && strings.HasPrefix(st.LastError, "fetch: ")
	})
	return st
}

// pushBare commits files to a new work repository and pushes main to a new bare
// repository at dir, the way a developer's push would reach a git server.
func pushBare(t *testing.T, dir string, files map[string]string) string {
	t.Helper()
	if _, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{Bare: true,
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")}}); err != nil {
		t.Fatal(err)
	}
	work := newGitRepo(t)
	rev := work.commit("served", files)
	if _, err := work.repo.CreateRemote(&config.RemoteConfig{Name: "server", URLs: []string{dir}}); err != nil {
		t.Fatal(err)
	}
	if err := work.repo.Push(&git.PushOptions{RemoteName: "server", RefSpecs: []config.RefSpec{"refs/heads/main:refs/heads/main"}}); err != nil {
		t.Fatalf("push to %s: %v", dir, err)
	}
	return rev
}

// serveGitHTTP serves the bare repositories under root over smart HTTP with git's own
// git-http-backend, to requests that carry user and password only. It returns the
// server's URL.
func serveGitHTTP(t *testing.T, root, user, password string) string {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skipf("git is not installed (git --exec-path: %v); CI installs it", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skipf("no git-http-backend in git's exec path: %v", err)
	}
	cgiHandler := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		cgiHandler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// sshKey is an ed25519 key as a Secret holds it and as a server sees it.
type sshKey struct {
	pem []byte
	pub ssh.PublicKey
}

func newSSHKey(t *testing.T) (ssh.Signer, sshKey) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "berth test")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer, sshKey{pem: pem.EncodeToMemory(block), pub: signer.PublicKey()}
}

// serveGitSSH serves the bare repositories under root over ssh on a local port, with
// hostKey, to user git with the client key only: a session's exec of
// "git-upload-pack '/<repo>'" runs git upload-pack on root/<repo>. It returns the
// server's address.
func serveGitSSH(t *testing.T, root string, hostKey ssh.Signer, client ssh.PublicKey) string {
	t.Helper()
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(c ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		if c.User() == "git" && bytes.Equal(key.Marshal(), client.Marshal()) {
			return nil, nil
		}
		return nil, errors.New("unknown user or key")
	}}
	cfg.AddHostKey(hostKey)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go serveSSHConn(conn, cfg, root)
		}
	}()
	return l.Addr().String()
}

func serveSSHConn(conn net.Conn, cfg *ssh.ServerConfig, root string) {
	defer conn.Close()
	_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, reqs, err := nc.Accept()
		if err != nil {
			return
		}
		go serveUploadPack(ch, reqs, root)
	}
}

// serveUploadPack answers a session's exec of git-upload-pack and refuses the rest.
func serveUploadPack(ch ssh.Channel, reqs <-chan *ssh.Request, root string) {
	defer ch.Close()
	for req := range reqs {
		var exe struct{ Command string }
		if req.Type != "exec" || ssh.Unmarshal(req.Payload, &exe) != nil {
			_ = req.Reply(false, nil) // env and the like
			continue
		}
		repo, ok := strings.CutPrefix(exe.Command, "git-upload-pack ")
		if !ok {
			_ = req.Reply(false, nil)
			return
		}
		_ = req.Reply(true, nil)
		cmd := exec.Command("git", "upload-pack", filepath.Join(root, strings.Trim(repo, "'")))
		cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return
		}
		go func() { _, _ = io.Copy(stdin, ch); stdin.Close() }()
		status := uint32(0)
		if err := cmd.Run(); err != nil {
			status = 1
		}
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{status}))
		return
	}
}
