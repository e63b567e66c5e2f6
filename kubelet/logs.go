package kubelet

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/berth-dev/berth/kubelet/runtime"
	"github.com/berth-dev/berth/kubelet/server"
)

// KubeletEndpointAnnotation is the Node annotation naming the kubelet's
// HTTPS server, which the API server proxies pods/log to (the API
// server's constant of the same name).
const KubeletEndpointAnnotation = "berth.dev/kubelet-endpoint"

// logLookupTimeout bounds LogPath's runtime query.
const logLookupTimeout = 10 * time.Second

var _ server.LogLocator = (*Kubelet)(nil)

// LogPath returns the log file of a container of a pod on this node, of
// its newest attempt or, with previous, of the one before. It implements
// server.LogLocator.
func (k *Kubelet) LogPath(namespace, podName, container string, previous bool) (string, error) {
	if !k.opts.LogContainers || k.lister == nil {
		return "", fmt.Errorf("container logs are not kept on this node: %w", server.ErrNotFound)
	}
	pod, err := k.lister.Pods(namespace).Get(podName)
	if err != nil {
		return "", fmt.Errorf("pod %q in namespace %q: %w", podName, namespace, server.ErrNotFound)
	}
	ctx, cancel := context.WithTimeout(context.Background(), logLookupTimeout)
	defer cancel()
	infos, err := k.rt.ListContainers(ctx, map[string]string{runtime.LabelPodUID: string(pod.UID), runtime.LabelContainerName: container})
	if err != nil {
		return "", fmt.Errorf("list containers of pod %q: %w", podName, err)
	}
	var attempts []int
	for _, info := range infos {
		if a, err := strconv.Atoi(info.Labels[runtime.LabelAttempt]); err == nil {
			attempts = append(attempts, a)
		}
	}
	slices.Sort(attempts)
	switch {
	case len(attempts) == 0:
		return "", fmt.Errorf("container %q in pod %q is waiting to start", container, podName)
	case previous && len(attempts) < 2:
		return "", fmt.Errorf("previous terminated container %q in pod %q not found: %w", container, podName, server.ErrNotFound)
	}
	attempt := attempts[len(attempts)-1]
	if previous {
		attempt = attempts[len(attempts)-2]
	}
	return k.logPath(string(pod.UID), container, attempt), nil
}

// logPath is where a container attempt's log file is.
func (k *Kubelet) logPath(uid, container string, attempt int) string {
	return filepath.Join(k.podDir(uid), "logs", container, strconv.Itoa(attempt)+".log")
}

// startServer starts the kubelet's HTTPS server (container logs) when
// Options.ServerAddr is set, and returns the endpoint the Node advertises.
func (k *Kubelet) startServer(ctx context.Context) (string, error) {
	if k.opts.ServerAddr == "" {
		return "", nil
	}
	srv, err := server.New(server.Options{
		Addr:         k.opts.ServerAddr,
		CertDir:      filepath.Join(k.opts.DataDir, "pki"),
		Logs:         k,
		Authenticate: server.TokenReviewAuthenticator(k.client.AuthenticationV1().TokenReviews()),
	})
	if err != nil {
		return "", err
	}
	go func() {
		if err := srv.Run(ctx); err != nil {
			k.log.Warn("kubelet server", "err", err)
		}
	}()
	host, port, err := net.SplitHostPort(srv.Addr().String())
	if err != nil {
		return "", fmt.Errorf("kubelet server address: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if nodeIP := k.hostIP.Load(); nodeIP != nil {
			host = *nodeIP
		} else if found, err := internalIP(k.opts.HostNetNS); err == nil {
			host = found
		}
	}
	return "https://" + net.JoinHostPort(host, port), nil
}
