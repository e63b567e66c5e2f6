package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Shared is the material every API server of one cluster must hold alike,
// so that a client may use any of them: the CA that signs each server's
// serving certificate, and the bearer tokens. Each server still issues its
// own serving certificate, for its own addresses, from the shared CA.
//
// It holds private keys and tokens: never log it.
type Shared struct {
	CACert []byte `json:"caCert"`
	CAKey  []byte `json:"caKey"`
	Tokens []byte `json:"tokens"`
}

// LoadShared reads the shared material from dir, creating what is missing
// as EnsurePKI and EnsureTokens do.
func LoadShared(dir string) (Shared, error) {
	if _, err := EnsurePKI(dir, nil); err != nil {
		return Shared{}, err
	}
	if _, err := EnsureTokens(dir); err != nil {
		return Shared{}, err
	}
	var s Shared
	for _, f := range s.files() {
		b, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			return Shared{}, fmt.Errorf("load shared credentials: %w", err)
		}
		*f.data = b
	}
	return s, nil
}

// Install checks s and writes into dir each of its files that differs from
// what is there, each by an atomic rename. It reports whether anything
// changed. A serving certificate in dir that the new CA did not sign is
// replaced by EnsurePKI the next time it runs.
func (s Shared) Install(dir string) (changed bool, err error) {
	if _, err := loadCA(s.CACert, s.CAKey, time.Now()); err != nil {
		return false, fmt.Errorf("install shared credentials: %w", err)
	}
	if _, err := parseTokens(s.Tokens); err != nil {
		return false, fmt.Errorf("install shared credentials: parse tokens: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("install shared credentials: %w", err)
	}
	for _, f := range s.files() {
		path := filepath.Join(dir, f.name)
		old, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return changed, fmt.Errorf("install shared credentials: %w", err)
		}
		if err == nil && bytes.Equal(old, *f.data) {
			continue
		}
		if err := writeFileAtomic(path, *f.data, f.perm); err != nil {
			return changed, fmt.Errorf("install shared credentials: %w", err)
		}
		changed = true
	}
	return changed, nil
}

type sharedFile struct {
	name string
	perm fs.FileMode
	data *[]byte
}

// files lists the files of s, the CA key before the CA certificate (as
// ensureCA writes them, so that a crash leaves a state it repairs).
func (s *Shared) files() []sharedFile {
	return []sharedFile{
		{caKeyFile, 0o600, &s.CAKey},
		{caCertFile, 0o644, &s.CACert},
		{TokenFile, 0o600, &s.Tokens},
	}
}
