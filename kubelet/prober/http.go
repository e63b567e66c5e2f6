package prober

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// UserAgent is the User-Agent of httpGet probes unless a header sets it.
const UserAgent = "kube-probe/1.34"

// maxRedirects is how many same-host redirects an httpGet probe follows.
const maxRedirects = 10

// probeHTTP runs an httpGet probe as the kubelet's: no proxy, no keep-alive,
// TLS not verified, redirects followed only on the same host (a redirect
// elsewhere counts as success), 2xx and 3xx succeed.
func probeHTTP(ctx context.Context, h *corev1.HTTPGetAction, c *corev1.Container, timeout time.Duration, t Target) (Result, string) {
	port, err := resolvePort(h.Port, c)
	if err != nil {
		return Unknown, err.Error()
	}
	host := h.Host
	if host == "" {
		host = t.PodIP
	}
	scheme := strings.ToLower(string(h.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	path := h.Path
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + path)
	if err != nil {
		return Unknown, fmt.Sprintf("httpGet probe URL: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Unknown, fmt.Sprintf("httpGet probe request: %v", err)
	}
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Accept", "*/*")
	for _, hd := range h.HTTPHeaders {
		if strings.EqualFold(hd.Name, "Host") {
			req.Host = hd.Value
			continue
		}
		req.Header.Add(hd.Name, hd.Value)
	}
	// Headers set by the probe replace the defaults.
	for _, name := range []string{"User-Agent", "Accept"} {
		var vals []string
		for _, hd := range h.HTTPHeaders {
			if http.CanonicalHeaderKey(hd.Name) == name {
				vals = append(vals, hd.Value)
			}
		}
		if vals != nil {
			req.Header[name] = vals
		}
	}
	transport := &http.Transport{
		Proxy:              nil,
		DialContext:        t.dial,
		TLSClientConfig:    &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as the kubelet: probes do not verify certificates
		DisableKeepAlives:  true,
		DisableCompression: true,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, CheckRedirect: checkRedirect}
	res, err := client.Do(req)
	if err != nil {
		return Failure, err.Error()
	}
	defer func() { _ = res.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxOutput))
	if err != nil && !errors.Is(err, io.EOF) {
		return Failure, fmt.Sprintf("read httpGet probe response: %v", err)
	}
	if res.StatusCode >= http.StatusOK && res.StatusCode < http.StatusBadRequest {
		if res.StatusCode >= http.StatusMultipleChoices {
			return Success, "Probe terminated redirects, Response body: " + string(body)
		}
		return Success, string(body)
	}
	return Failure, fmt.Sprintf("HTTP probe failed with statuscode: %d", res.StatusCode)
}

// checkRedirect follows redirects on the probed host only, as the
// kubelet's RedirectChecker(false).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if req.URL.Hostname() != via[0].URL.Hostname() {
		return http.ErrUseLastResponse
	}
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	return nil
}
