package leader

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/internal/testserver"
)

// TestForwardSendsToTheLeader: a follower proxies to the leader's endpoint;
// the leader, and any candidate given a request already forwarded, serve
// it themselves.
func TestForwardSendsToTheLeader(t *testing.T) {
	ts := testserver.Start(t, apiserver.Options{})
	handler := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, name+" "+r.Header.Get(forwardedHeader))
		})
	}
	leaderSrv := httptest.NewServer(handler("leader-remote"))
	t.Cleanup(leaderSrv.Close)

	a := start(t, ts.EtcdClient(), "a", nil, nil, func(o *Options) { o.Kube, o.Endpoint = ts.Client, leaderSrv.URL })
	wait(t, a.terms, "a to lead")
	b := start(t, ts.EtcdClient(), "b", nil, nil, func(o *Options) { o.Kube, o.Endpoint = ts.Client, "http://unused" })
	eventually(t, "b to observe a", func() bool { return b.el.Leader() == "a" })

	get := func(el *Elector, forwarded bool) string {
		req := httptest.NewRequest(http.MethodPost, "/hooks/git/x", strings.NewReader("{}")).WithContext(context.Background())
		if forwarded {
			req.Header.Set(forwardedHeader, "c")
		}
		rec := httptest.NewRecorder()
		el.Forward(handler("local"), http.DefaultTransport).ServeHTTP(rec, req)
		return rec.Body.String()
	}
	eventually(t, "the Lease to name a", func() bool { return get(b.el, false) == "leader-remote b" })
	for _, tc := range []struct {
		name      string
		el        *Elector
		forwarded bool
		want      string
	}{
		{"leader serves", a.el, false, "local "},
		{"follower forwards", b.el, false, "leader-remote b"},
		{"forwarded once is served", b.el, true, "local c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := get(tc.el, tc.forwarded); got != tc.want {
				t.Errorf("answer %q, want %q", got, tc.want)
			}
		})
	}
}
