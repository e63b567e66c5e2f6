package dns

import (
	"context"
	"net"

	"github.com/miekg/dns"
)

// maxChase bounds the CNAME chain followed for an ExternalName Service.
const maxChase = 8

// ednsSize is the UDP payload size the server advertises to clients that
// use EDNS0 (the DNS flag day 2020 value).
const ednsSize = 1232

// serve answers one query and writes the response, truncated to what the
// client can take over UDP.
func (s *Server) serve(ctx context.Context, w dns.ResponseWriter, req *dns.Msg) {
	_, tcp := w.LocalAddr().(*net.TCPAddr)
	resp := s.respond(ctx, req, tcp)
	// Name compression lets more records fit before truncation (a headless
	// Service's many endpoints share their owner name).
	resp.Compress = true
	size := dns.MaxMsgSize
	if !tcp {
		size = dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = max(int(opt.UDPSize()), dns.MinMsgSize)
		}
	}
	resp.Truncate(size)
	var qtype uint16
	if len(req.Question) > 0 {
		qtype = req.Question[0].Qtype
	}
	s.metrics.observeQuery(qtype, resp.Rcode)
	if err := w.WriteMsg(resp); err != nil {
		s.log.Debug("write DNS response", "client", w.RemoteAddr(), "err", err)
	}
}

// respond builds the response to req: an answer from the catalog for names
// the server owns, else the upstreams' answer, else SERVFAIL.
func (s *Server) respond(ctx context.Context, req *dns.Msg, tcp bool) *dns.Msg {
	resp := new(dns.Msg)
	switch {
	case req.Opcode != dns.OpcodeQuery:
		return resp.SetRcode(req, dns.RcodeNotImplemented)
	case len(req.Question) != 1:
		return resp.SetRcode(req, dns.RcodeFormatError)
	}
	q := req.Question[0]
	r, ok := s.answerer.answer(q)
	if !ok {
		fwd, err := s.fwd.forward(ctx, req, tcp)
		if err != nil {
			s.log.Debug("forward DNS query", "name", q.Name, "type", dns.TypeToString[q.Qtype], "err", err)
			resp.SetRcode(req, dns.RcodeServerFailure)
			resp.RecursionAvailable = true
			return resp
		}
		return fwd
	}
	resp.SetRcode(req, r.rcode)
	resp.Authoritative = true
	resp.RecursionAvailable = true
	resp.Answer = r.answer
	resp.Extra = r.extra
	if r.chase != "" {
		resp.Answer = append(resp.Answer, s.chase(ctx, q.Qtype, r.chase, tcp)...)
	}
	if r.rcode == dns.RcodeNameError || (r.rcode == dns.RcodeSuccess && len(r.answer) == 0) {
		resp.Ns = []dns.RR{s.answerer.soa()}
	}
	if opt := req.IsEdns0(); opt != nil {
		resp.SetEdns0(ednsSize, opt.Do())
	}
	return resp
}

// chase resolves the target of an ExternalName Service's CNAME: from the
// catalog when the server owns it, else through the upstreams. It returns
// the records found, none when resolution fails (the client still has the
// CNAME).
func (s *Server) chase(ctx context.Context, qtype uint16, target string, tcp bool) []dns.RR {
	var out []dns.RR
	for range maxChase {
		q := dns.Question{Name: target, Qtype: qtype, Qclass: dns.ClassINET}
		r, ok := s.answerer.answer(q)
		if !ok {
			m := new(dns.Msg)
			m.SetQuestion(target, qtype)
			fwd, err := s.fwd.forward(ctx, m, tcp)
			if err != nil {
				s.log.Debug("resolve ExternalName target", "name", target, "err", err)
				return out
			}
			return append(out, fwd.Answer...)
		}
		out = append(out, r.answer...)
		if r.chase == "" {
			return out
		}
		target = r.chase
	}
	return out
}
