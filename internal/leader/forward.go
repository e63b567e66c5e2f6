package leader

import (
	"errors"
	"net/http"
	"net/http/httputil"
	"net/url"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// forwardedHeader marks a request Forward sent on, so that it is never
// sent on twice (two candidates that each think the other leads).
const forwardedHeader = "X-Berth-Forwarded"

// Forward returns a handler for requests that only the leader can serve,
// such as git push webhooks: while this candidate leads, local serves them;
// otherwise they are proxied to the leader's Endpoint, as the Lease names
// it, through rt (which must trust the leader's certificate). Without a
// known leader, or for a request already forwarded once, local serves them
// (and may answer that it cannot). Forward needs Options.Kube.
func (e *Elector) Forward(local http.Handler, rt http.RoundTripper) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.Leading() || r.Header.Get(forwardedHeader) != "" || e.opts.Kube == nil {
			local.ServeHTTP(w, r)
			return
		}
		target, err := e.leaderEndpoint(r)
		if err != nil {
			local.ServeHTTP(w, r)
			return
		}
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.Out.Header.Set(forwardedHeader, e.opts.Identity)
			},
			Transport: rt,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				e.log.Warn("forward to the leader", "leader", target.Host, "path", r.URL.Path, "err", err)
				http.Error(w, "the leader cannot be reached; try again", http.StatusBadGateway)
			},
		}
		proxy.ServeHTTP(w, r)
	})
}

// leaderEndpoint reads the leader's endpoint from the Lease, if another
// candidate holds it.
func (e *Elector) leaderEndpoint(r *http.Request) (*url.URL, error) {
	l, err := e.opts.Kube.CoordinationV1().Leases(LeaseNamespace).Get(r.Context(), LeaseName, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == e.opts.Identity {
		return nil, errors.New("no other leader")
	}
	u, err := url.Parse(l.Annotations[EndpointAnnotation])
	if err != nil || u.Host == "" {
		return nil, errors.New("the leader has no endpoint")
	}
	return u, nil
}
