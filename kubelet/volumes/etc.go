package volumes

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// DNS is the node's DNS setup for pods.
type DNS struct {
	// Nameservers are the cluster DNS servers (ClusterFirst); empty makes
	// ClusterFirst fall back to Default, as the kubelet does.
	Nameservers []string
	// Searches and Options are appended to ClusterFirst's own search list
	// and "ndots:5" (the kubelet appends the host's search domains here).
	Searches []string
	Options  []string
	// ClusterDomain is the cluster's DNS domain (default "cluster.local").
	ClusterDomain string
	// HostResolvConf and HostHosts are the node's files used for policy
	// Default and hostNetwork pods (default /etc/resolv.conf, /etc/hosts).
	HostResolvConf, HostHosts string
}

// The kubelet's limits on a pod's resolv.conf.
const (
	maxNameservers  = 3
	maxSearches     = 32
	maxSearchLength = 2048
)

// EtcFiles writes the pod's hosts file and resolv.conf under its directory
// and returns their paths, to be bind-mounted at /etc/hosts and
// /etc/resolv.conf.
func (m *Manager) EtcFiles(pod *corev1.Pod, podIP string, dns DNS) (hosts, resolv string, err error) {
	dir, err := m.podDir(string(pod.UID))
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("create pod directory: %w", err)
	}
	if dns.ClusterDomain == "" {
		dns.ClusterDomain = "cluster.local"
	}
	if dns.HostResolvConf == "" {
		dns.HostResolvConf = "/etc/resolv.conf"
	}
	if dns.HostHosts == "" {
		dns.HostHosts = "/etc/hosts"
	}
	hostsData, err := hostsFile(pod, podIP, dns)
	if err != nil {
		return "", "", err
	}
	resolvData, err := resolvConf(pod, dns)
	if err != nil {
		return "", "", err
	}
	hosts = filepath.Join(dir, "etc-hosts")
	resolv = filepath.Join(dir, "resolv.conf")
	if err := writeInPlace(hosts, hostsData); err != nil {
		return "", "", fmt.Errorf("write hosts file: %w", err)
	}
	if err := writeInPlace(resolv, resolvData); err != nil {
		return "", "", fmt.Errorf("write resolv.conf: %w", err)
	}
	return hosts, resolv, nil
}

// writeInPlace replaces path's contents in place (the file is
// bind-mounted, so its inode must stay) when they differ.
func writeInPlace(path string, data []byte) error {
	if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, data) {
		return nil
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return err
	}
	return os.Chmod(path, 0o644)
}

// Hostname returns the pod's hostname and, with a subdomain, its domain
// (<subdomain>.<ns>.svc.<clusterDomain>), as the kubelet's
// GeneratePodHostNameAndDomain: spec.hostname or the pod's name, cut to
// 63 characters without a trailing '-' or '.'.
func Hostname(pod *corev1.Pod, clusterDomain string) (hostname, domain string) {
	hostname = pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	if len(hostname) > 63 {
		hostname = strings.TrimRight(hostname[:63], "-.")
	}
	if pod.Spec.Subdomain != "" {
		domain = fmt.Sprintf("%s.%s.svc.%s", pod.Spec.Subdomain, pod.Namespace, clusterDomain)
	}
	return hostname, domain
}

// hostsFile is the kubelet's managedHostsFileContent (or, for hostNetwork
// pods, the node's hosts file) followed by the host aliases.
func hostsFile(pod *corev1.Pod, podIP string, dns DNS) ([]byte, error) {
	var b bytes.Buffer
	if pod.Spec.HostNetwork {
		data, err := os.ReadFile(dns.HostHosts)
		if err != nil {
			return nil, fmt.Errorf("read node hosts file: %w", err)
		}
		b.Write(data)
	} else {
		b.WriteString("# Kubernetes-managed hosts file.\n")
		b.WriteString("127.0.0.1\tlocalhost\n")
		b.WriteString("::1\tlocalhost ip6-localhost ip6-loopback\n")
		b.WriteString("fe00::0\tip6-localnet\n")
		b.WriteString("fe00::0\tip6-mcastprefix\n")
		b.WriteString("fe00::1\tip6-allnodes\n")
		b.WriteString("fe00::2\tip6-allrouters\n")
		hostname, domain := Hostname(pod, dns.ClusterDomain)
		if podIP != "" {
			if domain != "" {
				fmt.Fprintf(&b, "%s\t%s.%s\t%s\n", podIP, hostname, domain, hostname)
			} else {
				fmt.Fprintf(&b, "%s\t%s\n", podIP, hostname)
			}
		}
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.Bytes(), nil
}

// resolvConf is the pod's resolv.conf by its dnsPolicy, as the kubelet's
// GetPodDNS: ClusterFirst (also for hostNetwork with
// ClusterFirstWithHostNet) uses the cluster servers and search path,
// Default (and ClusterFirst with hostNetwork) the node's resolv.conf, None
// nothing; spec.dnsConfig is merged in last.
func resolvConf(pod *corev1.Pod, dns DNS) ([]byte, error) {
	var servers, searches, options []string
	policy := pod.Spec.DNSPolicy
	if policy == "" {
		policy = corev1.DNSClusterFirst
	}
	if policy == corev1.DNSClusterFirst && pod.Spec.HostNetwork {
		policy = corev1.DNSDefault
	}
	if (policy == corev1.DNSClusterFirst || policy == corev1.DNSClusterFirstWithHostNet) && len(dns.Nameservers) == 0 {
		policy = corev1.DNSDefault
	}
	switch policy {
	case corev1.DNSClusterFirst, corev1.DNSClusterFirstWithHostNet:
		servers = append(servers, dns.Nameservers...)
		searches = append([]string{
			pod.Namespace + ".svc." + dns.ClusterDomain,
			"svc." + dns.ClusterDomain,
			dns.ClusterDomain,
		}, dns.Searches...)
		options = append([]string{"ndots:5"}, dns.Options...)
	case corev1.DNSDefault:
		var err error
		servers, searches, options, err = parseResolvConf(dns.HostResolvConf)
		if err != nil {
			return nil, err
		}
	case corev1.DNSNone:
	default:
		return nil, fmt.Errorf("unknown dnsPolicy %q", policy)
	}
	if c := pod.Spec.DNSConfig; c != nil {
		servers = omitDuplicates(append(servers, c.Nameservers...))
		searches = omitDuplicates(append(searches, c.Searches...))
		options = mergeOptions(options, c.Options)
	}
	if len(servers) > maxNameservers {
		servers = servers[:maxNameservers]
	}
	searches = fitSearches(searches)

	var b strings.Builder
	if len(searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(searches, " "))
	}
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return []byte(b.String()), nil
}

// parseResolvConf reads the node's nameservers, search list (the last
// search line wins, trailing dots dropped) and options.
func parseResolvConf(path string) (servers, searches, options []string, err error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil, nil, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read node resolv.conf: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "nameserver":
			servers = append(servers, fields[1])
		case "search":
			searches = searches[:0]
			for _, s := range fields[1:] {
				if s = strings.TrimSuffix(s, "."); s != "" {
					searches = append(searches, s)
				}
			}
		case "options":
			options = append(options, fields[1:]...)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, nil, fmt.Errorf("read node resolv.conf: %w", err)
	}
	return servers, searches, options, nil
}

func omitDuplicates(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// mergeOptions is the kubelet's mergeDNSOptions: the pod's options replace
// those of the same name; order is kept (the kubelet's is random).
func mergeOptions(existing []string, pod []corev1.PodDNSConfigOption) []string {
	var names []string
	values := map[string]string{}
	set := func(name, value string) {
		if _, ok := values[name]; !ok {
			names = append(names, name)
		}
		values[name] = value
	}
	for _, op := range existing {
		name, value, _ := strings.Cut(op, ":")
		set(name, value)
	}
	for _, op := range pod {
		value := ""
		if op.Value != nil {
			value = *op.Value
		}
		set(op.Name, value)
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if values[n] != "" {
			out = append(out, n+":"+values[n])
		} else {
			out = append(out, n)
		}
	}
	return out
}

// fitSearches cuts the search list to the kubelet's limits.
func fitSearches(searches []string) []string {
	if len(searches) > maxSearches {
		searches = searches[:maxSearches]
	}
	for len(searches) > 0 && len(strings.Join(searches, " ")) > maxSearchLength {
		searches = searches[:len(searches)-1]
	}
	return searches
}
