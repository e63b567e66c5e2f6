package testcontainerd

import (
	"bytes"
	"testing"
)

func TestHasArg(t *testing.T) {
	args := func(s string) [][]byte { return bytes.Split([]byte(s), []byte(" ")) }
	for _, tc := range []struct {
		cmd  string
		want bool
	}{
		{"containerd-shim-runc-v2 -namespace berth -id x -address /tmp/a/c.sock", true},
		{"containerd-shim-runc-v2 -namespace berth -id x -address /tmp/b/c.sock", false},
		{"containerd-shim-runc-v2 -address", false},
		{"containerd-shim-runc-v2 -id /tmp/a/c.sock", false},
	} {
		if got := hasArg(args(tc.cmd), "-address", "/tmp/a/c.sock"); got != tc.want {
			t.Errorf("hasArg(%q) = %v, want %v", tc.cmd, got, tc.want)
		}
	}
}
