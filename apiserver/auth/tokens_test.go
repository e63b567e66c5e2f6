package auth

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestEnsureTokensCreatesOnceAndReloads(t *testing.T) {
	dir := t.TempDir()
	first, err := EnsureTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "tokens.csv")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("tokens.csv mode %v, want 0600", got)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^[0-9a-f]{64},(berth-[a-z]+),(berth-[a-z]+),"[a-z:]+"$`)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("tokens.csv has %d lines, want 3:\n%s", len(lines), redact(data, first))
	}
	for _, l := range lines {
		if m := line.FindStringSubmatch(l); m == nil || m[1] != m[2] {
			t.Errorf("tokens.csv line %q is not token,user,uid,\"group\"", redact([]byte(l), first))
		}
	}

	second, err := EnsureTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, role := range []string{RoleAdmin, RoleNode, RoleReadonly} {
		tok := first.Token(role)
		if len(tok) != 64 {
			t.Errorf("%s token has %d characters, want 64", role, len(tok))
		}
		if second.Token(role) != tok {
			t.Errorf("%s token changed on reload", role)
		}
		if seen[tok] {
			t.Errorf("%s token is shared with another role", role)
		}
		seen[tok] = true
	}
	if got := first.Token("root"); got != "" {
		t.Error("unknown role has a token")
	}
}

func TestEnsureTokensAddsMissingRole(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(path, []byte("s3cret,berth-admin,berth-admin,\"system:masters\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := EnsureTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := tokens.Token(RoleAdmin); got != "s3cret" {
		t.Error("existing admin token was replaced")
	}
	if tokens.Token(RoleNode) == "" || tokens.Token(RoleReadonly) == "" {
		t.Error("missing roles got no token")
	}
	again, err := EnsureTokens(dir)
	if err != nil {
		t.Fatal(err)
	}
	if again.Token(RoleNode) != tokens.Token(RoleNode) {
		t.Error("added token was not saved")
	}
}

func TestEnsureTokensRejectsBadFile(t *testing.T) {
	tests := []struct {
		name, file, wantErr string
	}{
		{"unknown user", "a,alice,alice\n", `line 1: unknown user "alice"`},
		{"too few fields", "a,berth-admin\n", "line 1: want token,user,uid[,groups], got 2 fields"},
		{"empty token", ",berth-admin,berth-admin\n", `line 1: empty token for user "berth-admin"`},
		{"second token", "a,berth-admin,berth-admin\nb,berth-admin,berth-admin\n", `line 2: second token for user "berth-admin"`},
		{"shared token", "a,berth-admin,berth-admin\na,berth-node,berth-node\n", `line 2: user "berth-node" has the token of another user`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := EnsureTokens(dir)
			if err == nil || !strings.HasSuffix(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to end in %q", err, tt.wantErr)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	tokens, err := EnsureTokens(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	admin := tokens.Token(RoleAdmin)
	tests := []struct {
		name   string
		bearer string
		want   User
		wantOK bool
	}{
		{"admin", admin, User{Name: "berth-admin", Role: RoleAdmin}, true},
		{"node", tokens.Token(RoleNode), User{Name: "berth-node", Role: RoleNode}, true},
		{"readonly", tokens.Token(RoleReadonly), User{Name: "berth-readonly", Role: RoleReadonly}, true},
		{"wrong", strings.Repeat("0", 64), User{}, false},
		{"prefix", admin[:63], User{}, false},
		{"longer", admin + "0", User{}, false},
		{"empty", "", User{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tokens.Authenticate(tt.bearer)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("Authenticate = %+v, %v; want %+v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestAuthenticateRequest(t *testing.T) {
	tokens, err := EnsureTokens(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	node := tokens.Token(RoleNode)
	tests := []struct {
		name   string
		header string // "" sends no Authorization header
		wantOK bool
	}{
		{"bearer", "Bearer " + node, true},
		{"lower case scheme", "bearer " + node, true},
		{"upper case scheme", "BEARER " + node, true},
		{"extra spaces", "  Bearer   " + node + "  ", true},
		{"no header", "", false},
		{"basic", "Basic " + node, false},
		{"no token", "Bearer", false},
		{"blank token", "Bearer   ", false},
		{"two tokens", "Bearer " + node + " " + node, false},
		{"no scheme", node, false},
		{"wrong token", "Bearer nope", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			u, ok := tokens.AuthenticateRequest(r)
			if ok != tt.wantOK {
				t.Fatalf("AuthenticateRequest ok = %v, want %v", ok, tt.wantOK)
			}
			if ok && u.Role != RoleNode {
				t.Errorf("AuthenticateRequest user = %+v, want role node", u)
			}
		})
	}
}

// redact replaces the tokens in data, so that a failing test does not print them.
func redact(data []byte, tokens *Tokens) string {
	s := string(data)
	for _, role := range []string{RoleAdmin, RoleNode, RoleReadonly} {
		if tok := tokens.Token(role); tok != "" {
			s = strings.ReplaceAll(s, tok, "<"+role+" token>")
		}
	}
	return s
}
