package auth

import (
	"bytes"
	"crypto/x509"
	"testing"
)

func TestSharedInstallReplacesCAAndTokens(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	shared, err := LoadShared(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EnsurePKI(b, []string{"10.0.0.2"}); err != nil { // b's own CA first
		t.Fatal(err)
	}
	changed, err := shared.Install(b)
	if err != nil || !changed {
		t.Fatalf("Install = %v, %v; want true, nil", changed, err)
	}
	if changed, err := shared.Install(b); err != nil || changed {
		t.Fatalf("second Install = %v, %v; want false, nil", changed, err)
	}
	pkiB, err := EnsurePKI(b, []string{"10.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pkiB.CACertPEM, shared.CACert) {
		t.Error("b's CA is not the shared one")
	}
	if _, err := pkiB.ServerCert.Leaf.Verify(x509VerifyOptions(pkiB)); err != nil {
		t.Errorf("b's serving certificate is not signed by the shared CA: %v", err)
	}
	ta, _ := EnsureTokens(a)
	tb, _ := EnsureTokens(b)
	for _, role := range []string{RoleAdmin, RoleNode, RoleReadonly} {
		if ta.Token(role) != tb.Token(role) {
			t.Errorf("%s token differs", role)
		}
	}
}

func TestSharedInstallRejectsDamage(t *testing.T) {
	good, err := LoadShared(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	other, err := LoadShared(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Shared)
	}{
		{"no CA cert", func(s *Shared) { s.CACert = nil }},
		{"key of another CA", func(s *Shared) { s.CAKey = other.CAKey }},
		{"bad tokens", func(s *Shared) { s.Tokens = []byte("x,nobody,nobody\n") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.edit(&s)
			if _, err := s.Install(t.TempDir()); err == nil {
				t.Fatal("Install accepted damaged material")
			}
		})
	}
}

func x509VerifyOptions(p *PKI) x509.VerifyOptions {
	return x509.VerifyOptions{Roots: p.CAPool}
}
