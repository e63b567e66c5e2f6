package apiserver

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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/apiserver/registry"
)

// KubeletEndpointAnnotation on a Node overrides the kubelet's address the API server
// proxies to, as a base URL such as "https://127.0.0.1:10250". The agent sets it when
// the node's InternalIP is not reachable from the API server (an agent whose pods live
// in a network namespace).
const KubeletEndpointAnnotation = "berth.dev/kubelet-endpoint"

// defaultKubeletPort is used when a Node does not report its kubelet's port.
const defaultKubeletPort = 10250

// kubeletTransport reaches kubelets. Like kube-apiserver by default, it does not verify
// their self-signed serving certificates.
var kubeletTransport = &http.Transport{
	Proxy:               nil,
	DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // kubelets serve self-signed certificates
	TLSHandshakeTimeout: 10 * time.Second,
	MaxIdleConnsPerHost: 4,
	IdleConnTimeout:     90 * time.Second,
}

// podLogParams are the pods/log query parameters passed on to the kubelet.
var podLogParams = []string{"follow", "previous", "timestamps", "tailLines", "limitBytes", "sinceSeconds", "sinceTime"}

// podLog serves GET pods/NAME/log: it finds the pod's node and streams the container's
// log from that node's kubelet, authenticated with the admin token.
func (s *Server) podLog(w http.ResponseWriter, r *http.Request, req *request) error {
	q := r.URL.Query()
	if err := validatePodLogQuery(q); err != nil {
		return err
	}
	obj, err := s.store(req.kind).Get(r.Context(), req.namespace, req.name)
	if err != nil {
		return err
	}
	pod := obj.(*corev1.Pod)
	container, err := logContainer(pod, q.Get("container"))
	if err != nil {
		return err
	}
	if pod.Spec.NodeName == "" {
		return apierrors.NewBadRequest(fmt.Sprintf("pod %s does not have a host assigned", pod.Name))
	}
	base, err := s.kubeletURL(r.Context(), pod.Spec.NodeName)
	if err != nil {
		return err
	}
	u := base.JoinPath("containerLogs", pod.Namespace, pod.Name, container)
	out := url.Values{}
	for _, p := range podLogParams {
		if v := q.Get(p); v != "" {
			out.Set(p, v)
		}
	}
	u.RawQuery = out.Encode()
	return s.proxyLog(w, r, pod.Spec.NodeName, u)
}

// validatePodLogQuery checks the numeric parameters as Kubernetes' validation does.
func validatePodLogQuery(q url.Values) error {
	for _, p := range []struct {
		name    string
		minimum int64
	}{{"tailLines", 0}, {"limitBytes", 1}, {"sinceSeconds", 1}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return apierrors.NewBadRequest(fmt.Sprintf("%s: invalid integer %q", p.name, v))
		}
		if n < p.minimum {
			return apierrors.NewBadRequest(fmt.Sprintf("%s: must be greater than or equal to %d", p.name, p.minimum))
		}
	}
	if q.Get("sinceSeconds") != "" && q.Get("sinceTime") != "" {
		return apierrors.NewBadRequest("at most one of sinceTime or sinceSeconds may be specified")
	}
	return nil
}

// logContainer returns the container whose log is asked for: name, or the pod's only
// container when name is empty.
func logContainer(pod *corev1.Pod, name string) (string, error) {
	var names, inits []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		inits = append(inits, c.Name)
	}
	if name == "" {
		if len(names) == 1 {
			return names[0], nil
		}
		msg := fmt.Sprintf("a container name must be specified for pod %s, choose one of: %v", pod.Name, names)
		if len(inits) > 0 {
			msg += fmt.Sprintf(" or one of the init containers: %v", inits)
		}
		return "", apierrors.NewBadRequest(msg)
	}
	for _, n := range append(names, inits...) {
		if n == name {
			return name, nil
		}
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", name, pod.Name))
}

// kubeletURL returns the base URL of the kubelet of the node: its
// KubeletEndpointAnnotation, else https on its first InternalIP (then Hostname) and
// its reported kubelet port.
func (s *Server) kubeletURL(ctx context.Context, nodeName string) (*url.URL, error) {
	k := s.lookup(registry.CoreV1.Group, registry.CoreV1.Version, "nodes")
	if k == nil {
		return nil, apierrors.NewInternalError(errors.New("nodes are not served"))
	}
	obj, err := s.store(k).Get(ctx, "", nodeName)
	if apierrors.IsNotFound(err) {
		return nil, apierrors.NewInternalError(fmt.Errorf("node %q of the pod not found", nodeName))
	}
	if err != nil {
		return nil, err
	}
	return kubeletURLOf(obj.(*corev1.Node))
}

// kubeletURLOf is kubeletURL for a Node read.
func kubeletURLOf(node *corev1.Node) (*url.URL, error) {
	if ep := node.Annotations[KubeletEndpointAnnotation]; ep != "" {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, apierrors.NewInternalError(fmt.Errorf("node %q: annotation %s is not an http(s) URL: %q", node.Name, KubeletEndpointAnnotation, ep))
		}
		return u, nil
	}
	port := int(node.Status.DaemonEndpoints.KubeletEndpoint.Port)
	if port == 0 {
		port = defaultKubeletPort
	}
	for _, t := range []corev1.NodeAddressType{corev1.NodeInternalIP, corev1.NodeHostName} {
		for _, a := range node.Status.Addresses {
			if a.Type == t && a.Address != "" {
				return &url.URL{Scheme: "https", Host: net.JoinHostPort(a.Address, strconv.Itoa(port))}, nil
			}
		}
	}
	return nil, apierrors.NewInternalError(fmt.Errorf("node %q has no InternalIP or Hostname address to reach its kubelet", node.Name))
}

// proxyLog GETs u from the node's kubelet and streams the answer, flushing each chunk.
func (s *Server) proxyLog(w http.ResponseWriter, r *http.Request, nodeName string, u *url.URL) error {
	kreq, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.String(), nil)
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("kubelet request for node %q: %w", nodeName, err))
	}
	kreq.Header.Set("Authorization", "Bearer "+s.tokens.Token(auth.RoleAdmin))
	resp, err := kubeletTransport.RoundTrip(kreq)
	if err != nil {
		return statusError(http.StatusBadGateway, metav1.StatusReasonInternalError,
			fmt.Sprintf("cannot reach the kubelet of node %q: %v", nodeName, err))
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return kubeletError(nodeName, resp)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	} else {
		w.Header().Set("Content-Type", "text/plain")
	}
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	buf := make([]byte, 32<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil // the client went away
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if rerr != nil {
			// io.EOF is the end; any other error ends the stream early, as the status
			// is already sent.
			return nil
		}
	}
}

// kubeletError turns a kubelet's error answer into an API error: its own code and text
// (such as `container "x" in pod "y" is not available`), except that a kubelet refusing
// the API server is the server's problem, not the client's.
func kubeletError(nodeName string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := strings.TrimSpace(string(body))
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return apierrors.NewInternalError(fmt.Errorf("the kubelet of node %q refused the API server (%s): %s", nodeName, resp.Status, msg))
	case http.StatusBadRequest:
		return statusError(resp.StatusCode, metav1.StatusReasonBadRequest, msg)
	case http.StatusNotFound:
		return statusError(resp.StatusCode, metav1.StatusReasonNotFound, msg)
	}
	if msg == "" {
		msg = resp.Status
	}
	return statusError(resp.StatusCode, metav1.StatusReasonInternalError, fmt.Sprintf("the kubelet of node %q: %s", nodeName, msg))
}

// statusError is an API error with a code and message of its own.
func statusError(code int, reason metav1.StatusReason, msg string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status: metav1.StatusFailure, Code: int32(code), Reason: reason, Message: msg,
	}}
}
