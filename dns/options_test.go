package dns

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/kubernetes/fake"
)

func TestOptionsDefaults(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte("# test\nnameserver 169.254.20.10\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch example.org\noptions ndots:2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, listen, err := Options{Client: fake.NewClientset(), ResolvConf: conf, Domain: "Cluster.Local."}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Domain != "cluster.local" {
		t.Errorf("domain %q, want cluster.local", o.Domain)
	}
	if len(listen) != 1 || listen[0].String() != DefaultListen {
		t.Errorf("listen %v, want %s", listen, DefaultListen)
	}
	// The server's own address is left out: it would forward to itself.
	if want := []string{"192.0.2.53:53", "[2001:db8::53]:53"}; !slices.Equal(o.Upstreams, want) {
		t.Errorf("upstreams from resolv.conf %q, want %q", o.Upstreams, want)
	}
	if o.ForwardTimeout != DefaultForwardTimeout || o.Logger == nil {
		t.Errorf("forward timeout %v, logger %v: defaults not filled", o.ForwardTimeout, o.Logger)
	}
}

func TestOptionsErrors(t *testing.T) {
	client := fake.NewClientset()
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{}, "Client is required"},
		{Options{Client: client, Domain: "bad..domain"}, "not a domain name"},
		{Options{Client: client, Listen: []string{"localhost:53"}}, "want IP:port"},
		{Options{Client: client, Listen: []string{"10.0.0.1"}}, "want IP:port"},
		{Options{Client: client, Upstreams: []string{"dns.google:53"}}, "want an IP address"},
		{Options{Client: client, Upstreams: []string{"1.1.1.1:0"}}, "want an IP address"},
		{Options{Client: client, ResolvConf: filepath.Join(t.TempDir(), "missing")}, "read nameservers"},
	} {
		_, _, err := tc.opts.withDefaults()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("withDefaults(%+v) = %v, want an error with %q", tc.opts, err, tc.want)
		}
	}
}

func TestNormalizeUpstream(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":         "192.0.2.1:53",
		"192.0.2.1:5353":    "192.0.2.1:5353",
		"2001:db8::1":       "[2001:db8::1]:53",
		"[2001:db8::1]:853": "[2001:db8::1]:853",
	} {
		if got, err := normalizeUpstream(in); err != nil || got != want {
			t.Errorf("normalizeUpstream(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
}
