package dns

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/miekg/dns"
)

func TestAnswer(t *testing.T) {
	cat, _ := startCatalog(t, testObjects()...)
	a := &answerer{zone: "cluster.local.", catalog: cat, serial: 1}
	const (
		noError  = dns.RcodeSuccess
		nxDomain = dns.RcodeNameError
	)
	for _, tc := range []struct {
		name    string
		qtype   uint16
		forward bool // not the server's: forwarded
		rcode   int
		answer  []string
		extra   []string
		chase   string
	}{
		// A Service with a cluster IP.
		{name: "hello.demo.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"hello.demo.svc.cluster.local. 5 IN A 10.96.0.20"}},
		{name: "HELLO.Demo.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"HELLO.Demo.svc.cluster.local. 5 IN A 10.96.0.20"}},
		{name: "hello.demo.svc.cluster.local.", qtype: dns.TypeAAAA},
		{name: "hello.demo.svc.cluster.local.", qtype: dns.TypeTXT},
		{name: "hello.demo.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{
				"hello.demo.svc.cluster.local. 5 IN SRV 0 50 80 hello.demo.svc.cluster.local.",
				"hello.demo.svc.cluster.local. 5 IN SRV 0 50 9090 hello.demo.svc.cluster.local.",
			},
			extra: []string{"hello.demo.svc.cluster.local. 5 IN A 10.96.0.20"}},
		{name: "_http._tcp.hello.demo.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_http._tcp.hello.demo.svc.cluster.local. 5 IN SRV 0 100 80 hello.demo.svc.cluster.local."},
			extra:  []string{"hello.demo.svc.cluster.local. 5 IN A 10.96.0.20"}},
		{name: "_http._tcp.hello.demo.svc.cluster.local.", qtype: dns.TypeA},
		{name: "_http._udp.hello.demo.svc.cluster.local.", qtype: dns.TypeSRV, rcode: nxDomain},
		{name: "_https._tcp.hello.demo.svc.cluster.local.", qtype: dns.TypeSRV, rcode: nxDomain},
		{name: "_tcp.hello.demo.svc.cluster.local.", qtype: dns.TypeSRV},
		{name: "_udp.hello.demo.svc.cluster.local.", qtype: dns.TypeSRV, rcode: nxDomain},
		{name: "h-0.hello.demo.svc.cluster.local.", qtype: dns.TypeA, rcode: nxDomain},
		{name: "_dns._udp.udp.demo.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{"_dns._udp.udp.demo.svc.cluster.local. 5 IN SRV 0 100 53 udp.demo.svc.cluster.local."},
			extra:  []string{"udp.demo.svc.cluster.local. 5 IN A 10.96.0.40"}},
		{name: "dual.demo.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"dual.demo.svc.cluster.local. 5 IN A 10.96.0.30"}},
		{name: "dual.demo.svc.cluster.local.", qtype: dns.TypeAAAA,
			answer: []string{"dual.demo.svc.cluster.local. 5 IN AAAA fd00::30"}},

		// A headless Service: ready endpoints only, each address once.
		{name: "db.demo.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{
				"db.demo.svc.cluster.local. 5 IN A 10.42.0.20",
				"db.demo.svc.cluster.local. 5 IN A 10.42.0.21",
				"db.demo.svc.cluster.local. 5 IN A 10.42.0.22",
			}},
		{name: "db.demo.svc.cluster.local.", qtype: dns.TypeAAAA},
		{name: "db-0.db.demo.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"db-0.db.demo.svc.cluster.local. 5 IN A 10.42.0.20"}},
		{name: "10-42-0-22.db.demo.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"10-42-0-22.db.demo.svc.cluster.local. 5 IN A 10.42.0.22"}},
		{name: "db-3.db.demo.svc.cluster.local.", qtype: dns.TypeA, rcode: nxDomain},
		{name: "db-9.db.demo.svc.cluster.local.", qtype: dns.TypeA, rcode: nxDomain},
		{name: "_pg._tcp.db.demo.svc.cluster.local.", qtype: dns.TypeSRV,
			answer: []string{
				"_pg._tcp.db.demo.svc.cluster.local. 5 IN SRV 0 33 5432 db-0.db.demo.svc.cluster.local.",
				"_pg._tcp.db.demo.svc.cluster.local. 5 IN SRV 0 33 5432 db-1.db.demo.svc.cluster.local.",
				"_pg._tcp.db.demo.svc.cluster.local. 5 IN SRV 0 33 5432 10-42-0-22.db.demo.svc.cluster.local.",
			},
			extra: []string{
				"db-0.db.demo.svc.cluster.local. 5 IN A 10.42.0.20",
				"db-1.db.demo.svc.cluster.local. 5 IN A 10.42.0.21",
				"10-42-0-22.db.demo.svc.cluster.local. 5 IN A 10.42.0.22",
			}},
		{name: "empty.demo.svc.cluster.local.", qtype: dns.TypeA, rcode: nxDomain},
		{name: "all.demo.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"all.demo.svc.cluster.local. 5 IN A 10.42.0.30"}},

		// ExternalName.
		{name: "ext.demo.svc.cluster.local.", qtype: dns.TypeA,
			answer: []string{"ext.demo.svc.cluster.local. 5 IN CNAME example.com."}, chase: "example.com."},
		{name: "ext.demo.svc.cluster.local.", qtype: dns.TypeTXT,
			answer: []string{"ext.demo.svc.cluster.local. 5 IN CNAME example.com."}},

		// Names in the domain that are not Services.
		{name: "nope.demo.svc.cluster.local.", qtype: dns.TypeA, rcode: nxDomain},
		{name: "example.com.demo.svc.cluster.local.", qtype: dns.TypeA, rcode: nxDomain},
		{name: "hello.demo.demo.svc.cluster.local.", qtype: dns.TypeA, rcode: nxDomain},
		{name: "example.com.svc.cluster.local.", qtype: dns.TypeA, rcode: nxDomain},
		{name: "example.com.cluster.local.", qtype: dns.TypeA, rcode: nxDomain},
		{name: "demo.svc.cluster.local.", qtype: dns.TypeA},
		{name: "nobody.svc.cluster.local.", qtype: dns.TypeA, rcode: nxDomain},
		{name: "svc.cluster.local.", qtype: dns.TypeA},
		{name: "cluster.local.", qtype: dns.TypeA},
		{name: "cluster.local.", qtype: dns.TypeSOA,
			answer: []string{"cluster.local. 5 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 5"}},
		{name: "dns-version.cluster.local.", qtype: dns.TypeTXT,
			answer: []string{`dns-version.cluster.local. 5 IN TXT "1.1.0"`}},

		// Pods.
		{name: "10-42-0-5.demo.pod.cluster.local.", qtype: dns.TypeA,
			answer: []string{"10-42-0-5.demo.pod.cluster.local. 5 IN A 10.42.0.5"}},
		{name: "10-42-0-5.demo.pod.cluster.local.", qtype: dns.TypeAAAA},
		{name: "fd00--5.demo.pod.cluster.local.", qtype: dns.TypeAAAA,
			answer: []string{"fd00--5.demo.pod.cluster.local. 5 IN AAAA fd00::5"}},
		{name: "not-an-ip.demo.pod.cluster.local.", qtype: dns.TypeA, rcode: nxDomain},

		// Reverse lookups.
		{name: "20.0.96.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"20.0.96.10.in-addr.arpa. 5 IN PTR hello.demo.svc.cluster.local."}},
		{name: "20.0.42.10.in-addr.arpa.", qtype: dns.TypePTR,
			answer: []string{"20.0.42.10.in-addr.arpa. 5 IN PTR db-0.db.demo.svc.cluster.local."}},
		{name: "10.0.42.10.in-addr.arpa.", qtype: dns.TypePTR, forward: true}, // an endpoint of a Service with a cluster IP
		{name: "1.1.1.1.in-addr.arpa.", qtype: dns.TypePTR, forward: true},
		{name: "20.0.96.10.in-addr.arpa.", qtype: dns.TypeA, forward: true},

		// Outside the domain.
		{name: "example.com.", qtype: dns.TypeA, forward: true},
		{name: "cluster.local.example.com.", qtype: dns.TypeA, forward: true},
	} {
		q := dns.Question{Name: tc.name, Qtype: tc.qtype, Qclass: dns.ClassINET}
		r, ours := a.answer(q)
		if ours == tc.forward {
			t.Errorf("%s %s: answered here = %v, want %v", tc.name, dns.TypeToString[tc.qtype], ours, !tc.forward)
			continue
		}
		if tc.forward {
			continue
		}
		got := struct {
			Rcode         int
			Answer, Extra []string
			Chase         string
		}{r.rcode, rrStrings(r.answer), rrStrings(r.extra), r.chase}
		want := struct {
			Rcode         int
			Answer, Extra []string
			Chase         string
		}{tc.rcode, tc.answer, tc.extra, tc.chase}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tc.name, dns.TypeToString[tc.qtype], diff)
		}
	}

	// Another class than IN gets REFUSED.
	r, _ := a.answer(dns.Question{Name: "hello.demo.svc.cluster.local.", Qtype: dns.TypeA, Qclass: dns.ClassCHAOS})
	if r.rcode != dns.RcodeRefused {
		t.Errorf("class CH: rcode %s, want REFUSED", dns.RcodeToString[r.rcode])
	}
}
