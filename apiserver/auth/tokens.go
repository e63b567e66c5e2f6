package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Roles. Every token belongs to exactly one; Authorize says what each may do.
const (
	// RoleAdmin may do anything.
	RoleAdmin = "admin"
	// RoleNode is what a berth node agent needs: read everything; write Nodes, Pod
	// status, Events and Leases; delete Pods.
	RoleNode = "node"
	// RoleReadonly may read everything except Secrets.
	RoleReadonly = "readonly"
)

// TokenFile is the name of the token file EnsureTokens keeps in its directory.
const TokenFile = "tokens.csv"

// account is one fixed user of the token file.
type account struct {
	role, user, group string
}

// accounts are the users in the token file, one per role, in file order. The groups are
// informational (berth authorizes by role), chosen so that the file also means something
// to a real kube-apiserver given it as --token-auth-file.
var accounts = []account{
	{RoleAdmin, "berth-admin", "system:masters"},
	{RoleNode, "berth-node", "system:nodes"},
	{RoleReadonly, "berth-readonly", "berth:readonly"},
}

// User is an authenticated client.
type User struct {
	// Name is the user name, as Kubernetes messages and audit show it.
	Name string
	// Role is one of RoleAdmin, RoleNode and RoleReadonly.
	Role string
}

// Tokens holds the bearer token of every role. It does not change once loaded and is
// safe for concurrent use.
type Tokens struct {
	byRole  map[string]string
	entries []tokenEntry
}

type tokenEntry struct {
	user User
	sum  [sha256.Size]byte // of the token, so that comparisons take the same time for any input
}

// EnsureTokens loads dir/tokens.csv, creating it with mode 0600 if it does not exist.
// The file is in kube-apiserver's static token file format, one line per role:
//
//	<64 hex digits>,berth-admin,berth-admin,"system:masters"
//
// Each token is 32 random bytes, hex-encoded. A role missing from an existing file gets
// a new token and the file is rewritten; an unknown user, a duplicate or an empty token is
// an error. Tokens are secrets: never log them.
func EnsureTokens(dir string) (*Tokens, error) {
	path := filepath.Join(dir, TokenFile)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ensure tokens: %w", err)
	}
	byRole := map[string]string{}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("ensure tokens: %w", err)
	default:
		if byRole, err = parseTokens(data); err != nil {
			return nil, fmt.Errorf("ensure tokens: parse %s: %w", path, err)
		}
	}
	if len(byRole) < len(accounts) {
		for _, a := range accounts {
			if byRole[a.role] != "" {
				continue
			}
			if byRole[a.role], err = newToken(); err != nil {
				return nil, fmt.Errorf("ensure tokens: %w", err)
			}
		}
		if err := writeFileAtomic(path, formatTokens(byRole), 0o600); err != nil {
			return nil, fmt.Errorf("ensure tokens: %w", err)
		}
	}
	t := &Tokens{byRole: byRole}
	for _, a := range accounts {
		t.entries = append(t.entries, tokenEntry{
			user: User{Name: a.user, Role: a.role},
			sum:  sha256.Sum256([]byte(byRole[a.role])),
		})
	}
	return t, nil
}

// Token returns the bearer token of role, or "" for an unknown role.
func (t *Tokens) Token(role string) string {
	return t.byRole[role]
}

// Authenticate returns the user whose token is bearer. It takes the same time whichever
// token, if any, matches.
func (t *Tokens) Authenticate(bearer string) (User, bool) {
	if bearer == "" {
		return User{}, false
	}
	sum := sha256.Sum256([]byte(bearer))
	var user User
	found := 0
	for _, e := range t.entries {
		match := subtle.ConstantTimeCompare(sum[:], e.sum[:])
		if match == 1 {
			user = e.user
		}
		found |= match
	}
	return user, found == 1
}

func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// parseTokens reads a token file into a map from role to token. Lines are
// token,user,uid[,"groups"]; the role is known by the user name.
func parseTokens(data []byte) (map[string]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	byRole := map[string]string{}
	seen := map[string]bool{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return byRole, nil
		}
		if err != nil {
			return nil, err
		}
		line, _ := r.FieldPos(0)
		if len(rec) < 3 {
			return nil, fmt.Errorf("line %d: want token,user,uid[,groups], got %d fields", line, len(rec))
		}
		token, user := rec[0], rec[1]
		a, ok := accountByUser(user)
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d: unknown user %q", line, user)
		case byRole[a.role] != "":
			return nil, fmt.Errorf("line %d: second token for user %q", line, user)
		case token == "":
			return nil, fmt.Errorf("line %d: empty token for user %q", line, user)
		case seen[token]:
			return nil, fmt.Errorf("line %d: user %q has the token of another user", line, user)
		}
		byRole[a.role] = token
		seen[token] = true
	}
}

func formatTokens(byRole map[string]string) []byte {
	var b bytes.Buffer
	for _, a := range accounts {
		fmt.Fprintf(&b, "%s,%s,%s,%q\n", byRole[a.role], a.user, a.user, a.group)
	}
	return b.Bytes()
}

func accountByUser(user string) (account, bool) {
	for _, a := range accounts {
		if a.user == user {
			return a, true
		}
	}
	return account{}, false
}
