package auth

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestEnsurePKICreatesThenReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	first, err := EnsurePKI(dir, []string{"10.0.0.5", "berth.example"})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{
		"ca.crt": 0o644, "ca.key": 0o600, "server.crt": 0o644, "server.key": 0o600,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", name, got, want)
		}
	}

	ca := parseTestCert(t, first.CACertPEM)
	if ca.Subject.CommonName != "berth-ca" || !ca.IsCA {
		t.Errorf("CA subject %q, IsCA %v; want berth-ca, true", ca.Subject.CommonName, ca.IsCA)
	}
	if years := ca.NotAfter.Sub(ca.NotBefore).Hours() / 24 / 365; years < 9.9 {
		t.Errorf("CA valid for %.1f years, want 10", years)
	}
	leaf := first.ServerCert.Leaf
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if got, want := ips, []string{"127.0.0.1", "::1", "10.0.0.5"}; !slices.Equal(got, want) {
		t.Errorf("IP SANs %q, want %q", got, want)
	}
	if got, want := leaf.DNSNames, []string{"localhost", "berth.example"}; !slices.Equal(got, want) {
		t.Errorf("DNS SANs %q, want %q", got, want)
	}

	second, err := EnsurePKI(dir, []string{"berth.example"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(second.CACertPEM, first.CACertPEM) {
		t.Error("second call made a new CA")
	}
	if !bytes.Equal(second.ServerCert.Certificate[0], first.ServerCert.Certificate[0]) {
		t.Error("second call made a new serving certificate though it names every host")
	}

	third, err := EnsurePKI(dir, []string{"berth.example", "192.168.1.9"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(third.CACertPEM, first.CACertPEM) {
		t.Error("new host made a new CA")
	}
	if bytes.Equal(third.ServerCert.Certificate[0], first.ServerCert.Certificate[0]) {
		t.Fatal("new host did not make a new serving certificate")
	}
	if err := third.ServerCert.Leaf.VerifyHostname("192.168.1.9"); err != nil {
		t.Error(err)
	}
}

func TestEnsurePKIRenewsServingCert(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	first, err := ensurePKI(dir, nil, start)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		after time.Duration
		renew bool
	}{
		{after: 300 * 24 * time.Hour, renew: false},
		{after: 340 * 24 * time.Hour, renew: true}, // 25 days left
	}
	for _, tt := range tests {
		p, err := ensurePKI(dir, nil, start.Add(tt.after))
		if err != nil {
			t.Fatal(err)
		}
		renewed := !bytes.Equal(p.ServerCert.Certificate[0], first.ServerCert.Certificate[0])
		if renewed != tt.renew {
			t.Errorf("after %v: renewed = %v, want %v", tt.after, renewed, tt.renew)
		}
		if !bytes.Equal(p.CACertPEM, first.CACertPEM) {
			t.Errorf("after %v: new CA", tt.after)
		}
	}
}

func TestEnsurePKIReplacesDamagedServingCert(t *testing.T) {
	dir := t.TempDir()
	first, err := EnsurePKI(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A key without its certificate, as a crash between the two writes leaves it.
	if err := os.WriteFile(filepath.Join(dir, "server.key"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	second, err := EnsurePKI(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(second.ServerCert.Certificate[0], first.ServerCert.Certificate[0]) {
		t.Error("damaged key pair was reused")
	}
}

func TestEnsurePKIKeepsCA(t *testing.T) {
	tests := []struct {
		name   string
		damage func(dir string) error
	}{
		{"missing key", func(dir string) error { return os.Remove(filepath.Join(dir, "ca.key")) }},
		{"foreign key", func(dir string) error {
			other := t.TempDir()
			if _, err := EnsurePKI(other, nil); err != nil {
				return err
			}
			key, err := os.ReadFile(filepath.Join(other, "ca.key"))
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "ca.key"), key, 0o600)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := EnsurePKI(dir, nil); err != nil {
				t.Fatal(err)
			}
			caBefore, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.damage(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := EnsurePKI(dir, nil); err == nil {
				t.Error("EnsurePKI succeeded with a broken CA")
			}
			caAfter, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(caBefore, caAfter) {
				t.Error("ca.crt was replaced")
			}
		})
	}
}

func TestEnsurePKIRejectsBadHost(t *testing.T) {
	if _, err := EnsurePKI(t.TempDir(), []string{"https://berth.example:6443"}); err == nil {
		t.Error("EnsurePKI accepted a URL as a host")
	}
}

func TestTLSConfigServes(t *testing.T) {
	p, err := EnsurePKI(t.TempDir(), []string{"berth.example", "10.0.0.5"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes below
	srv.EnableHTTP2 = true
	srv.TLS = p.TLSConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	_, port, _ := net.SplitHostPort(addr)

	// client dials the test server whatever the URL's host, so that each host is checked
	// against the certificate without DNS.
	client := func(roots *x509.CertPool) *http.Client {
		return &http.Client{Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: roots},
			ForceAttemptHTTP2: true,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		}}
	}
	trusting := client(p.CAPool)
	for _, host := range []string{"127.0.0.1", "localhost", "::1", "berth.example", "10.0.0.5"} {
		resp, err := trusting.Get("https://" + net.JoinHostPort(host, port) + "/")
		if err != nil {
			t.Errorf("%s: %v", host, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "HTTP/2.0" {
			t.Errorf("%s: served over %s, want HTTP/2.0", host, body)
		}
	}

	if _, err := trusting.Get("https://other.example:" + port + "/"); err == nil {
		t.Error("certificate accepted for a host it does not name")
	}
	systemPool, err := x509.SystemCertPool()
	if err != nil {
		systemPool = x509.NewCertPool()
	}
	_, err = client(systemPool).Get("https://127.0.0.1:" + port + "/")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("client without the CA: err = %v, want x509.UnknownAuthorityError", err)
	}
}

func parseTestCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	cert, err := parseCert(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}
