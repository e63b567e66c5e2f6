package auth

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Files EnsurePKI keeps in its directory.
const (
	caCertFile      = "ca.crt"
	caKeyFile       = "ca.key"
	servingCertFile = "server.crt"
	servingKeyFile  = "server.key"
)

// renewBefore is how long before expiry EnsurePKI replaces the serving certificate.
const renewBefore = 30 * 24 * time.Hour

// PKI is the cluster's TLS material: a private CA and the API server's serving
// certificate signed by it.
type PKI struct {
	// CACertPEM is the CA certificate, PEM-encoded. Clients trust it; WriteKubeconfig
	// embeds it.
	CACertPEM []byte
	// ServerCert is the serving certificate with its private key; Leaf is set.
	ServerCert tls.Certificate
	// CAPool holds only the CA certificate, for clients (RootCAs) that talk to the server.
	CAPool *x509.CertPool
}

// EnsurePKI loads the PKI kept in dir, creating what is missing.
//
// The CA (ca.crt, ca.key) is created once, valid for ten years, and then reused: clients
// trust it, so EnsurePKI never replaces it and returns an error if it is incomplete,
// damaged or expired. An operator may put their own CA there before the first start.
//
// The serving certificate (server.crt, server.key) is valid for one year and names every
// entry of hosts, IP addresses as IP SANs and anything else as DNS SANs, plus 127.0.0.1,
// ::1 and localhost. It is created again when it is missing or unreadable, was not
// signed by the CA, expires within 30 days, or lacks one of hosts.
//
// Keys are written with mode 0600 and certificates with 0644, each by an atomic rename.
func EnsurePKI(dir string, hosts []string) (*PKI, error) {
	return ensurePKI(dir, hosts, time.Now())
}

func ensurePKI(dir string, hosts []string, now time.Time) (*PKI, error) {
	want, err := newHostSet(hosts)
	if err != nil {
		return nil, fmt.Errorf("ensure PKI in %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ensure PKI in %s: %w", dir, err)
	}
	ca, err := ensureCA(dir, now)
	if err != nil {
		return nil, fmt.Errorf("ensure PKI in %s: %w", dir, err)
	}
	serving, err := ensureServingCert(dir, ca, want, now)
	if err != nil {
		return nil, fmt.Errorf("ensure PKI in %s: %w", dir, err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return &PKI{CACertPEM: ca.certPEM, ServerCert: serving, CAPool: pool}, nil
}

// TLSConfig returns a new server configuration presenting the serving certificate, for
// TLS 1.2 and later, offering HTTP/2 and HTTP/1.1.
func (p *PKI) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{p.ServerCert},
		NextProtos:   []string{"h2", "http/1.1"},
	}
}

// ensureCA loads the CA from dir, or creates it if ca.crt does not exist. A ca.key
// without ca.crt is what a crash between the two writes leaves; no client can trust that
// CA yet, so it is replaced.
func ensureCA(dir string, now time.Time) (*authority, error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, fs.ErrNotExist) {
		certPEM, keyPEM, err := newCA(now)
		if err != nil {
			return nil, fmt.Errorf("create CA: %w", err)
		}
		if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
			return nil, err
		}
		return loadCA(certPEM, keyPEM, now)
	}
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("CA key for existing %s: %w", certPath, err)
	}
	return loadCA(certPEM, keyPEM, now)
}

// loadCA parses and checks a CA certificate and its key.
func loadCA(certPEM, keyPEM []byte, now time.Time) (*authority, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", caCertFile, err)
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", caKeyFile, err)
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%s does not belong to %s", caKeyFile, caCertFile)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", caCertFile)
	}
	if now.After(cert.NotAfter) {
		return nil, fmt.Errorf("%s expired at %s; to start over, move the directory aside (every client then needs the new %s)",
			caCertFile, cert.NotAfter.UTC().Format(time.RFC3339), caCertFile)
	}
	return &authority{cert: cert, certPEM: certPEM, key: key}, nil
}

// ensureServingCert loads the serving certificate from dir if it is still good for want,
// and otherwise creates a new one.
func ensureServingCert(dir string, ca *authority, want hostSet, now time.Time) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dir, servingCertFile), filepath.Join(dir, servingKeyFile)
	certPEM, certErr := os.ReadFile(certPath)
	keyPEM, keyErr := os.ReadFile(keyPath)
	for _, err := range []error{certErr, keyErr} {
		// A file that exists but cannot be read is left alone rather than replaced.
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return tls.Certificate{}, err
		}
	}
	if certErr == nil && keyErr == nil {
		// A pair that does not parse or match is what a crash between the two writes
		// leaves; it is replaced like a missing one.
		if cert, err := keyPair(certPEM, keyPEM); err == nil && servingCertUsable(cert.Leaf, ca, want, now) {
			return cert, nil
		}
	}
	certPEM, keyPEM, err := newServingCert(ca, want, now)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create serving certificate: %w", err)
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return keyPair(certPEM, keyPEM)
}

// keyPair is tls.X509KeyPair with Leaf always set.
func keyPair(certPEM, keyPEM []byte) (tls.Certificate, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil || cert.Leaf != nil {
		return cert, err
	}
	cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0])
	return cert, err
}

// servingCertUsable reports whether leaf was signed by ca, is valid for at least
// renewBefore from now and names every host in want.
func servingCertUsable(leaf *x509.Certificate, ca *authority, want hostSet, now time.Time) bool {
	return leaf.CheckSignatureFrom(ca.cert) == nil &&
		!now.Before(leaf.NotBefore) &&
		now.Add(renewBefore).Before(leaf.NotAfter) &&
		want.coveredBy(leaf)
}
