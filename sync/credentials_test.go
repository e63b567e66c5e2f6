package sync

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
)

// testKey is an ed25519 key pair: the PEM a Secret holds and its public half.
type testKey struct {
	pem []byte
	pub ssh.PublicKey
}

func newTestKey(t *testing.T, passphrase string) testKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "berth test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "berth test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return testKey{pem: pem.EncodeToMemory(block), pub: sshPub}
}

// sshWant is what an ssh auth should hold.
type sshWant struct {
	user      string
	pub       ssh.PublicKey // of the client key
	host      string        // the address the host key is checked for
	hostKey   ssh.PublicKey // accepted for host; a fresh key is not
	algorithm string
}

func TestAuth(t *testing.T) {
	client := newTestKey(t, "")
	encrypted := newTestKey(t, "correct horse")
	hostKey := newTestKey(t, "") // the server's host key
	otherHost := newTestKey(t, "")
	knownHosts := knownhosts.Line([]string{"git.example.com"}, hostKey.pub) + "\n" +
		knownhosts.Line([]string{"[git.example.com]:2222"}, otherHost.pub) + "\n"

	for _, tc := range []struct {
		name    string
		url     string
		noRef   bool
		data    map[string]string // nil: the secret does not exist
		want    transport.AuthMethod
		ssh     *sshWant
		wantErr string
	}{
		{name: "no secretRef", url: "https://git.example.com/app.git", noRef: true},
		{name: "local path ignores the secret", url: "/srv/git/app", data: map[string]string{}},
		{name: "file URL ignores the secret", url: "file:///srv/git/app", data: map[string]string{}},
		{name: "missing secret", url: "https://git.example.com/app.git",
			wantErr: `read secret ns/creds: secrets "creds" not found`},

		{name: "https username and password", url: "https://git.example.com/app.git",
			data: map[string]string{"username": "berth", "password": "pw"},
			want: &githttp.BasicAuth{Username: "berth", Password: "pw"}},
		{name: "http token as the password of user git", url: "http://127.0.0.1:3000/app.git",
			data: map[string]string{"token": "ghp_abc"},
			want: &githttp.BasicAuth{Username: "git", Password: "ghp_abc"}},
		{name: "token with a username", url: "https://gitlab.example.com/app.git",
			data: map[string]string{"username": "oauth2", "token": "glpat-abc"},
			want: &githttp.BasicAuth{Username: "oauth2", Password: "glpat-abc"}},
		{name: "bearer token", url: "https://git.example.com/app.git",
			data: map[string]string{"bearerToken": "eyJ-abc"},
			want: &githttp.TokenAuth{Token: "eyJ-abc"}},
		{name: "password without username", url: "https://git.example.com/app.git",
			data:    map[string]string{"password": "s3cret-value"},
			wantErr: "secret ns/creds has a password but no username"},
		{name: "password and token", url: "https://git.example.com/app.git",
			data:    map[string]string{"username": "u", "password": "s3cret-value", "token": "s3cret-token"},
			wantErr: "secret ns/creds has both password and token: keep one"},
		{name: "bearer token and token", url: "https://git.example.com/app.git",
			data:    map[string]string{"bearerToken": "s3cret-value", "token": "s3cret-token"},
			wantErr: "secret ns/creds has bearerToken and password or token: keep one"},
		{name: "https without credentials", url: "https://git.example.com/app.git",
			data:    map[string]string{"username": "berth", "identity": string(client.pem)},
			wantErr: "secret ns/creds has no password, token or bearerToken: an http(s) URL needs one"},

		{name: "scp-like URL", url: "git@git.example.com:org/app.git",
			data: map[string]string{"identity": string(client.pem), "known_hosts": knownHosts},
			ssh:  &sshWant{user: "git", pub: client.pub, host: "git.example.com:22", hostKey: hostKey.pub, algorithm: ssh.KeyAlgoED25519}},
		{name: "ssh URL with a user and port", url: "ssh://deploy@git.example.com:2222/org/app.git",
			data: map[string]string{"identity": string(client.pem), "known_hosts": knownHosts},
			ssh:  &sshWant{user: "deploy", pub: client.pub, host: "git.example.com:2222", hostKey: otherHost.pub, algorithm: ssh.KeyAlgoED25519}},
		{name: "ssh URL without a user", url: "ssh://git.example.com/org/app.git",
			data: map[string]string{"identity": string(client.pem), "known_hosts": knownHosts},
			ssh:  &sshWant{user: "git", pub: client.pub, host: "git.example.com:22", hostKey: hostKey.pub, algorithm: ssh.KeyAlgoED25519}},
		{name: "encrypted identity", url: "git@git.example.com:org/app.git",
			data: map[string]string{"identity": string(encrypted.pem), "password": "correct horse", "known_hosts": knownHosts},
			ssh:  &sshWant{user: "git", pub: encrypted.pub, host: "git.example.com:22", hostKey: hostKey.pub, algorithm: ssh.KeyAlgoED25519}},
		{name: "encrypted identity without password", url: "git@git.example.com:org/app.git",
			data:    map[string]string{"identity": string(encrypted.pem), "known_hosts": knownHosts},
			wantErr: "secret ns/creds: identity is encrypted and the secret has no password"},
		{name: "encrypted identity with a wrong password", url: "git@git.example.com:org/app.git",
			data:    map[string]string{"identity": string(encrypted.pem), "password": "s3cret-value", "known_hosts": knownHosts},
			wantErr: "secret ns/creds key identity: "},
		{name: "identity that is no key", url: "git@git.example.com:org/app.git",
			data:    map[string]string{"identity": "s3cret-value", "known_hosts": knownHosts},
			wantErr: "secret ns/creds key identity: ssh: no key found"},
		{name: "ssh without known_hosts", url: "git@git.example.com:org/app.git",
			data:    map[string]string{"identity": string(client.pem)},
			wantErr: "secret ns/creds has no known_hosts: berth does not connect to unknown hosts"},
		{name: "ssh without identity", url: "ssh://git.example.com/org/app.git",
			data:    map[string]string{"username": "u", "password": "s3cret-value", "known_hosts": knownHosts},
			wantErr: "secret ns/creds has no identity: an ssh URL needs a private key"},
		{name: "known_hosts without the host", url: "git@elsewhere.example.com:org/app.git",
			data:    map[string]string{"identity": string(client.pem), "known_hosts": knownHosts},
			wantErr: "secret ns/creds key known_hosts has no key for elsewhere.example.com:22: berth does not connect to unknown hosts"},
		{name: "known_hosts that does not parse", url: "git@git.example.com:org/app.git",
			data:    map[string]string{"identity": string(client.pem), "known_hosts": "git.example.com ssh-ed25519 !!!\n"},
			wantErr: "secret ns/creds key known_hosts: knownhosts: known_hosts:1: "},
		{name: "git protocol", url: "git://git.example.com/app.git", data: map[string]string{"token": "s3cret-token"},
			wantErr: "secret ns/creds: berth has no credentials for git:// URLs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := fake.NewClientset()
			if tc.data != nil {
				sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "creds", Namespace: "ns"}, Data: map[string][]byte{}}
				for k, v := range tc.data {
					sec.Data[k] = []byte(v)
				}
				client = fake.NewClientset(sec)
			}
			src := &berthv1.GitSource{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "ns"},
				Spec: berthv1.GitSourceSpec{URL: tc.url, SecretRef: &berthv1.LocalObjectReference{Name: "creds"}}}
			if tc.noRef {
				src.Spec.SecretRef = nil
			}
			c := &Controller{client: client}
			got, err := c.auth(context.Background(), src)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("auth: %v, want an error starting %q", err, tc.wantErr)
				}
				t.Log(err)
				for _, v := range []string{"s3cret", "PRIVATE KEY", "correct horse"} {
					if strings.Contains(err.Error(), v) {
						t.Errorf("error %q shows a secret value", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("auth: %v", err)
			}
			if tc.ssh != nil {
				checkSSHAuth(t, got, *tc.ssh)
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("auth (-want +got):\n%s", diff)
			}
		})
	}
}

// checkSSHAuth checks the user and key an ssh auth offers and that it trusts the host
// key of want.host and no other.
func checkSSHAuth(t *testing.T, got transport.AuthMethod, want sshWant) {
	t.Helper()
	keys, ok := got.(*gitssh.PublicKeys)
	if !ok {
		t.Fatalf("auth is a %T, want *ssh.PublicKeys", got)
	}
	if keys.User != want.user {
		t.Errorf("user %q, want %q", keys.User, want.user)
	}
	if string(keys.Signer.PublicKey().Marshal()) != string(want.pub.Marshal()) {
		t.Errorf("signer is another key than the secret's identity")
	}
	if diff := cmp.Diff([]string{want.algorithm}, keys.HostKeyAlgorithms); diff != "" {
		t.Errorf("host key algorithms (-want +got):\n%s", diff)
	}
	cfg, err := keys.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	remote := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22}
	if err := cfg.HostKeyCallback(want.host, remote, want.hostKey); err != nil {
		t.Errorf("host key of %s refused: %v", want.host, err)
	}
	stranger := newTestKey(t, "")
	if err := cfg.HostKeyCallback(want.host, remote, stranger.pub); err == nil {
		t.Errorf("an unknown host key for %s was accepted", want.host)
	}
}
