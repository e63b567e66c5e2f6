package sync

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
)

// Keys of the Secret a GitSource's spec.secretRef names. Which ones are read depends
// on the scheme of the source's URL:
//
//	http:// and https://
//	  username + password   basic auth
//	  token [+ username]    basic auth with the token as the password and "git" as the
//	                        user unless username is set (GitHub, GitLab and Gitea accept it)
//	  bearerToken           an "Authorization: Bearer" header
//	ssh:// and scp-like user@host:path
//	  identity              the private key, PEM (OpenSSH, PKCS#1 or PKCS#8)
//	  password              the passphrase of identity, if it is encrypted
//	  known_hosts           required: the host keys berth trusts, in OpenSSH's format
//	file:// and local paths: none; a secretRef is ignored.
//
// The user of an ssh URL is the one it names (ssh://deploy@host/repo), else "git".
const (
	keyUsername    = "username"
	keyPassword    = "password"
	keyToken       = "token"
	keyBearerToken = "bearerToken"
	keyIdentity    = "identity"
	keyKnownHosts  = "known_hosts"
)

// auth returns the credentials a source fetches with, read from its Secret on every
// call so that a rotated Secret is used by the next sync. A source without secretRef
// (or following a local repository) fetches without credentials: nil, nil. Errors
// name the Secret and the key at fault and never carry a value of the Secret.
func (c *Controller) auth(ctx context.Context, src *berthv1.GitSource) (transport.AuthMethod, error) {
	if src.Spec.SecretRef == nil {
		return nil, nil
	}
	ep, err := transport.NewEndpoint(normalizeURL(src.Spec.URL))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the URL, which may carry a password
		}
		return nil, fmt.Errorf("url %s: %w", redact(src.Spec.URL), err)
	}
	if ep.Protocol == "file" {
		return nil, nil
	}
	secret := src.Namespace + "/" + src.Spec.SecretRef.Name
	sec, err := c.client.CoreV1().Secrets(src.Namespace).Get(ctx, src.Spec.SecretRef.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", secret, err)
	}
	switch ep.Protocol {
	case "http", "https":
		return httpAuth(secret, sec.Data)
	case "ssh":
		return sshAuth(secret, sec.Data, ep)
	}
	return nil, fmt.Errorf("secret %s: berth has no credentials for %s:// URLs", secret, ep.Protocol)
}

// httpAuth is basic or bearer auth from a Secret's data.
func httpAuth(secret string, data map[string][]byte) (transport.AuthMethod, error) {
	user, pass := string(data[keyUsername]), string(data[keyPassword])
	token, bearer := string(data[keyToken]), string(data[keyBearerToken])
	switch {
	case bearer != "" && (pass != "" || token != ""):
		return nil, fmt.Errorf("secret %s has %s and %s or %s: keep one", secret, keyBearerToken, keyPassword, keyToken)
	case bearer != "":
		return &githttp.TokenAuth{Token: bearer}, nil
	case pass != "" && token != "":
		return nil, fmt.Errorf("secret %s has both %s and %s: keep one", secret, keyPassword, keyToken)
	case pass != "":
		if user == "" {
			return nil, fmt.Errorf("secret %s has a %s but no %s", secret, keyPassword, keyUsername)
		}
		return &githttp.BasicAuth{Username: user, Password: pass}, nil
	case token != "":
		if user == "" {
			user = "git"
		}
		return &githttp.BasicAuth{Username: user, Password: token}, nil
	}
	return nil, fmt.Errorf("secret %s has no %s, %s or %s: an http(s) URL needs one", secret, keyPassword, keyToken, keyBearerToken)
}

// sshAuth is public key auth from a Secret's data, trusting only the host keys of
// its known_hosts.
func sshAuth(secret string, data map[string][]byte, ep *transport.Endpoint) (transport.AuthMethod, error) {
	identity, known := data[keyIdentity], data[keyKnownHosts]
	if len(identity) == 0 {
		return nil, fmt.Errorf("secret %s has no %s: an ssh URL needs a private key", secret, keyIdentity)
	}
	if len(known) == 0 {
		return nil, fmt.Errorf("secret %s has no %s: berth does not connect to unknown hosts", secret, keyKnownHosts)
	}
	user := ep.User
	if user == "" {
		user = "git"
	}
	passphrase := string(data[keyPassword])
	keys, err := gitssh.NewPublicKeys(user, identity, passphrase)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if _, perr := ssh.ParsePrivateKey(identity); passphrase == "" && errors.As(perr, &missing) {
			return nil, fmt.Errorf("secret %s: %s is encrypted and the secret has no %s", secret, keyIdentity, keyPassword)
		}
		return nil, fmt.Errorf("secret %s key %s: %w", secret, keyIdentity, err)
	}
	host := hostWithPort(ep)
	callback, algos, err := knownHosts(known, host)
	if err != nil {
		return nil, fmt.Errorf("secret %s key %s: %w", secret, keyKnownHosts, err)
	}
	if len(algos) == 0 {
		return nil, fmt.Errorf("secret %s key %s has no key for %s: berth does not connect to unknown hosts", secret, keyKnownHosts, host)
	}
	keys.HostKeyCallback = callback
	// Offer only the key types known_hosts holds for the host, so that a server with
	// several host keys shows one we can check.
	keys.HostKeyAlgorithms = algos
	return keys, nil
}

// knownHosts parses a known_hosts file's contents into a host key check and the host
// key algorithms known for hostWithPort. The parsers read files only, so the contents
// pass through a temporary file that is removed before returning.
func knownHosts(contents []byte, hostWithPort string) (ssh.HostKeyCallback, []string, error) {
	dir, err := os.MkdirTemp("", "berth-known-hosts-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(file, contents, 0o600); err != nil {
		return nil, nil, err
	}
	db, err := gitssh.NewKnownHostsDb(file)
	if err != nil {
		return nil, nil, errors.New(strings.ReplaceAll(err.Error(), file, "known_hosts"))
	}
	return db.HostKeyCallback(), db.HostKeyAlgorithms(hostWithPort), nil
}

// hostWithPort is the address go-git's ssh transport dials for an endpoint.
func hostWithPort(ep *transport.Endpoint) string {
	port := ep.Port
	if port <= 0 {
		port = 22
	}
	return net.JoinHostPort(strings.Trim(ep.Host, "[]"), strconv.Itoa(port))
}
