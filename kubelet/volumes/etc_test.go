package volumes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
)

const localhostLines = "# Kubernetes-managed hosts file.\n" +
	"127.0.0.1\tlocalhost\n" +
	"::1\tlocalhost ip6-localhost ip6-loopback\n" +
	"fe00::0\tip6-localnet\n" +
	"fe00::0\tip6-mcastprefix\n" +
	"fe00::1\tip6-allnodes\n" +
	"fe00::2\tip6-allrouters\n"

func TestEtcHosts(t *testing.T) {
	nodeHosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(nodeHosts, []byte("127.0.0.1 localhost\n192.168.1.5 node-a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	aliases := []corev1.HostAlias{{IP: "10.9.9.9", Hostnames: []string{"foo.local", "bar.local"}}, {IP: "10.9.9.8", Hostnames: []string{"baz"}}}
	tests := []struct {
		name  string
		spec  corev1.PodSpec
		podIP string
		want  string
	}{
		{"pod name", corev1.PodSpec{}, "10.1.0.5", localhostLines + "10.1.0.5\tweb\n"},
		{"no IP yet", corev1.PodSpec{}, "", localhostLines},
		{"hostname and subdomain", corev1.PodSpec{Hostname: "db-0", Subdomain: "db"}, "10.1.0.5",
			localhostLines + "10.1.0.5\tdb-0.db.shop.svc.example.org\tdb-0\n"},
		{"long hostname cut", corev1.PodSpec{Hostname: strings.Repeat("a", 62) + "-bbb"}, "10.1.0.5",
			localhostLines + "10.1.0.5\t" + strings.Repeat("a", 62) + "\n"},
		{"host aliases", corev1.PodSpec{HostAliases: aliases}, "10.1.0.5",
			localhostLines + "10.1.0.5\tweb\n\n# Entries added by HostAliases.\n10.9.9.9\tfoo.local\tbar.local\n10.9.9.8\tbaz\n"},
		{"hostNetwork uses the node's file", corev1.PodSpec{HostNetwork: true, HostAliases: aliases[1:]}, "192.168.1.5",
			"127.0.0.1 localhost\n192.168.1.5 node-a\n\n# Entries added by HostAliases.\n10.9.9.8\tbaz\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			m := New(dir, Getter{})
			pod := newPod()
			pod.Spec = tt.spec
			hosts, _, err := m.EtcFiles(pod, tt.podIP, DNS{Nameservers: []string{"10.96.0.10"}, ClusterDomain: "example.org", HostHosts: nodeHosts})
			if err != nil {
				t.Fatal(err)
			}
			if hosts != filepath.Join(dir, "uid-1", "etc-hosts") {
				t.Errorf("hosts path = %s", hosts)
			}
			got, err := os.ReadFile(hosts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("hosts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolvConf(t *testing.T) {
	nodeResolv := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(nodeResolv, []byte("# generated\nnameserver 192.168.1.1\nsearch old.example\nsearch lan. corp.example\noptions edns0 ndots:2\nnameserver 192.168.1.2 # second\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cluster := DNS{Nameservers: []string{"10.96.0.10"}, HostResolvConf: nodeResolv}
	five := "5"
	tests := []struct {
		name string
		spec corev1.PodSpec
		dns  DNS
		want string
	}{
		{"ClusterFirst by default", corev1.PodSpec{}, cluster,
			"search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"},
		{"ClusterFirst with host searches and options", corev1.PodSpec{DNSPolicy: corev1.DNSClusterFirst},
			DNS{Nameservers: []string{"10.96.0.10"}, Searches: []string{"lan"}, Options: []string{"edns0"}, ClusterDomain: "k.test"},
			"search shop.svc.k.test svc.k.test k.test lan\nnameserver 10.96.0.10\noptions ndots:5 edns0\n"},
		{"ClusterFirst without cluster DNS falls back to Default", corev1.PodSpec{}, DNS{HostResolvConf: nodeResolv},
			"search lan corp.example\nnameserver 192.168.1.1\nnameserver 192.168.1.2\noptions edns0 ndots:2\n"},
		{"ClusterFirst on hostNetwork is Default", corev1.PodSpec{HostNetwork: true}, cluster,
			"search lan corp.example\nnameserver 192.168.1.1\nnameserver 192.168.1.2\noptions edns0 ndots:2\n"},
		{"ClusterFirstWithHostNet", corev1.PodSpec{HostNetwork: true, DNSPolicy: corev1.DNSClusterFirstWithHostNet}, cluster,
			"search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"},
		{"Default", corev1.PodSpec{DNSPolicy: corev1.DNSDefault}, cluster,
			"search lan corp.example\nnameserver 192.168.1.1\nnameserver 192.168.1.2\noptions edns0 ndots:2\n"},
		{"Default without a node file", corev1.PodSpec{DNSPolicy: corev1.DNSDefault}, DNS{HostResolvConf: "/nonexistent/resolv.conf"}, ""},
		{"None with dnsConfig", corev1.PodSpec{DNSPolicy: corev1.DNSNone, DNSConfig: &corev1.PodDNSConfig{
			Nameservers: []string{"1.1.1.1"}, Searches: []string{"a.example"},
			Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &five}, {Name: "rotate"}}}}, cluster,
			"search a.example\nnameserver 1.1.1.1\noptions ndots:5 rotate\n"},
		{"ClusterFirst merged with dnsConfig", corev1.PodSpec{DNSConfig: &corev1.PodDNSConfig{
			Nameservers: []string{"10.96.0.10", "1.1.1.1", "8.8.8.8", "9.9.9.9"}, Searches: []string{"cluster.local", "extra"},
			Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr("2")}, {Name: "edns0"}}}}, cluster,
			"search shop.svc.cluster.local svc.cluster.local cluster.local extra\nnameserver 10.96.0.10\nnameserver 1.1.1.1\nnameserver 8.8.8.8\noptions ndots:2 edns0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(t.TempDir(), Getter{})
			pod := newPod()
			pod.Spec = tt.spec
			_, resolv, err := m.EtcFiles(pod, "10.1.0.5", tt.dns)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(resolv)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("resolv.conf (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEtcFilesRewriteInPlace checks a rewrite keeps the file's inode, so a
// container with it bind-mounted sees the new contents.
func TestEtcFilesRewriteInPlace(t *testing.T) {
	m := New(t.TempDir(), Getter{})
	pod := newPod()
	hosts, _, err := m.EtcFiles(pod, "", DNS{})
	if err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(hosts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.EtcFiles(pod, "10.1.0.7", DNS{}); err != nil {
		t.Fatal(err)
	}
	after, err := os.Stat(hosts)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("hosts file replaced instead of rewritten")
	}
	if data, _ := os.ReadFile(hosts); !strings.HasSuffix(string(data), "10.1.0.7\tweb\n") {
		t.Errorf("hosts = %q", data)
	}
}
