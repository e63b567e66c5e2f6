package env

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExpand(t *testing.T) {
	env := []string{"VAR_A=A", "VAR_B=B", "EMPTY=", "URL=http://x?a=b"}
	tests := []struct {
		in, want string
	}{
		{"$(VAR_A)", "A"},
		{"___$(VAR_A)___", "___A___"},
		{"$(VAR_A)$(VAR_B)", "AB"},
		{"$(EMPTY)", ""},
		{"$(URL)", "http://x?a=b"},
		{"$(UNDEFINED)", "$(UNDEFINED)"},
		{"$$(VAR_A)", "$(VAR_A)"},
		{"$$$(VAR_A)", "$A"},
		{"$$$$(VAR_A)", "$$(VAR_A)"},
		{"$VAR_A", "$VAR_A"},
		{"$(VAR_A", "$(VAR_A"},
		{"$()", "$()"},
		{"foo$", "foo$"},
		{"$", "$"},
		{"$$", "$"},
		{"${VAR_A}", "${VAR_A}"},
		{"$(VAR_A)-$(VAR_B)-$(VAR_C)", "A-B-$(VAR_C)"},
		{"no refs", "no refs"},
	}
	for _, tt := range tests {
		got := Expand([]string{tt.in}, env)
		if got[0] != tt.want {
			t.Errorf("Expand(%q) = %q, want %q", tt.in, got[0], tt.want)
		}
	}
	if Expand(nil, env) != nil {
		t.Error("Expand(nil) is not nil")
	}
	if diff := cmp.Diff([]string{"sh", "-c", "echo A"}, Expand([]string{"sh", "-c", "echo $(VAR_A)"}, env)); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
}
