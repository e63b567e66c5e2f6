package kubeproxy

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the expected rule sets in testdata/*.txt")

// TestBuildGolden builds the rule set of each testdata/*.txt transcript:
// the node's facts, the Services and EndpointSlices as YAML documents,
// then a line "----" and the expected iptables-restore text.
func TestBuildGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, want, ok := strings.Cut(string(data), "\n----\n")
			if !ok {
				t.Fatalf("%s: no ---- line", file)
			}
			in, err := parseInput(input)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			got := string(Build(in).Full(nil))
			if *update {
				if err := os.WriteFile(file, []byte(input+"\n----\n"+got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: rule set (-want +got), rerun with -update to accept:\n%s", file, diff)
			}
		})
	}
}

// parseInput reads a transcript's input: a first YAML document with the
// node's name and cluster CIDR, then Services and EndpointSlices.
func parseInput(s string) (Input, error) {
	docs := strings.Split(s, "\n---\n")
	var node struct {
		Name        string `json:"node"`
		ClusterCIDR string `json:"clusterCIDR"`
	}
	if err := yaml.Unmarshal([]byte(docs[0]), &node); err != nil {
		return Input{}, fmt.Errorf("node: %w", err)
	}
	in := Input{Node: Node{Name: node.Name}}
	if node.ClusterCIDR != "" {
		p, err := netip.ParsePrefix(node.ClusterCIDR)
		if err != nil {
			return Input{}, err
		}
		in.Node.ClusterCIDR = p
	}
	for i, doc := range docs[1:] {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if err != nil {
			return Input{}, fmt.Errorf("document %d: %w", i+2, err)
		}
		switch o := obj.(type) {
		case *corev1.Service:
			in.Services = append(in.Services, o)
		case *discoveryv1.EndpointSlice:
			in.Slices = append(in.Slices, o)
		default:
			return Input{}, fmt.Errorf("document %d: unexpected %T", i+2, obj)
		}
	}
	return in, nil
}

func TestUsable(t *testing.T) {
	ep := func(last byte, local, ready, serving, terminating bool) Endpoint {
		return Endpoint{Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 42, 0, last}), 80),
			Local: local, Ready: ready, Serving: serving, Terminating: terminating}
	}
	ready, readyLocal := ep(1, false, true, true, false), ep(2, true, true, true, false)
	notReady := ep(3, true, false, false, false)
	draining, drainingLocal := ep(4, false, false, true, true), ep(5, true, false, true, true)
	gone := ep(6, true, false, false, true)
	for _, tc := range []struct {
		name      string
		eps       []Endpoint
		localOnly bool
		want      []Endpoint
	}{
		{"ready only", []Endpoint{ready, readyLocal, notReady, draining, gone}, false, []Endpoint{ready, readyLocal}},
		{"local ready only", []Endpoint{ready, readyLocal, notReady, drainingLocal}, true, []Endpoint{readyLocal}},
		{"serving terminating when none ready", []Endpoint{notReady, draining, drainingLocal, gone}, false, []Endpoint{draining, drainingLocal}},
		{"local serving terminating", []Endpoint{ready, draining, drainingLocal}, true, []Endpoint{drainingLocal}},
		{"none", []Endpoint{notReady, gone}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, usable(tc.eps, tc.localOnly), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpdate(t *testing.T) {
	rs := func(nat map[string][]string) *RuleSet {
		return &RuleSet{Tables: map[string]map[string][]string{"filter": {"BERTH-SERVICES": nil}, "nat": nat}}
	}
	prev := rs(map[string][]string{
		"BERTH-SERVICES": {"-A BERTH-SERVICES -j BERTH-SVC-A", "-A BERTH-SERVICES -j BERTH-SVC-B"},
		"BERTH-SVC-A":    {"-A BERTH-SVC-A -j DNAT --to-destination 10.42.0.1:80"},
		"BERTH-SVC-B":    {"-A BERTH-SVC-B -j DNAT --to-destination 10.42.0.2:80"},
	})
	for _, tc := range []struct {
		name string
		next *RuleSet
		want string
	}{
		{"unchanged", prev, ""},
		{"one chain changed", rs(map[string][]string{
			"BERTH-SERVICES": prev.Tables["nat"]["BERTH-SERVICES"],
			"BERTH-SVC-A":    {"-A BERTH-SVC-A -j DNAT --to-destination 10.42.0.3:80"},
			"BERTH-SVC-B":    prev.Tables["nat"]["BERTH-SVC-B"],
		}), "*nat\n:BERTH-SVC-A - [0:0]\n-A BERTH-SVC-A -j DNAT --to-destination 10.42.0.3:80\nCOMMIT\n"},
		{"one chain removed", rs(map[string][]string{
			"BERTH-SERVICES": {"-A BERTH-SERVICES -j BERTH-SVC-A"},
			"BERTH-SVC-A":    prev.Tables["nat"]["BERTH-SVC-A"],
		}), "*nat\n:BERTH-SERVICES - [0:0]\n:BERTH-SVC-B - [0:0]\n-A BERTH-SERVICES -j BERTH-SVC-A\n-X BERTH-SVC-B\nCOMMIT\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, string(tc.next.Update(prev))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestFullDeletesStaleChains(t *testing.T) {
	rs := &RuleSet{Tables: map[string]map[string][]string{
		"filter": {"BERTH-SERVICES": nil},
		"nat":    {"BERTH-SERVICES": {"-A BERTH-SERVICES -j RETURN"}},
	}}
	got := string(rs.Full(map[string][]string{"nat": {"BERTH-SERVICES", "BERTH-SVC-OLD", "CNI-1234", "PREROUTING"}}))
	want := "*filter\n:BERTH-SERVICES - [0:0]\nCOMMIT\n" +
		"*nat\n:BERTH-SERVICES - [0:0]\n:BERTH-SVC-OLD - [0:0]\n-A BERTH-SERVICES -j RETURN\n-X BERTH-SVC-OLD\nCOMMIT\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if bytes.Contains([]byte(got), []byte("CNI")) {
		t.Error("touched a chain berth does not own")
	}
}

// parseGolden reads the input of a transcript.
func parseGolden(file string) (Input, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Input{}, err
	}
	input, _, _ := strings.Cut(string(data), "\n----\n")
	return parseInput(input)
}

// ci is whether the tests run in CI (CI=true), where a missing tool fails.
func ci() bool { return os.Getenv("CI") == "true" }
