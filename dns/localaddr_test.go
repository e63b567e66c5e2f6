package dns

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/berth-dev/berth/internal/netnstest"
)

func TestLocalAddress(t *testing.T) {
	node := netnstest.NewNode(t, "dns-lo")
	for _, addr := range []netip.Addr{DefaultLocalAddress, netip.MustParseAddr("fd00:53::a")} {
		prefix := addr.String() + "/32"
		if addr.Is6() {
			prefix = addr.String() + "/128"
		}
		// Twice: adding is idempotent.
		for range 2 {
			if err := AddLocalAddress(node.Path, addr); err != nil {
				t.Fatalf("AddLocalAddress: %v", err)
			}
		}
		out, err := node.Exec("ip", "addr", "show", "dev", "lo")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, prefix) {
			t.Fatalf("lo lacks %s after AddLocalAddress:\n%s", prefix, out)
		}
		for range 2 {
			if err := RemoveLocalAddress(node.Path, addr); err != nil {
				t.Fatalf("RemoveLocalAddress: %v", err)
			}
		}
		out, err = node.Exec("ip", "addr", "show", "dev", "lo")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, prefix) {
			t.Fatalf("lo still has %s after RemoveLocalAddress:\n%s", prefix, out)
		}
	}
}
