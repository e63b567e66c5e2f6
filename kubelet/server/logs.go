package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/berth-dev/berth/kubelet/logs"
)

// DoneLocator may also be implemented by a LogLocator: LogDone returns a channel closed
// once the container's current attempt has exited, so that a followed log ends then
// rather than when the client goes away. It may return nil (never closed).
type DoneLocator interface {
	LogDone(namespace, pod, container string) <-chan struct{}
}

// logQuery is the query of GET /containerLogs.
type logQuery struct {
	opts     logs.ReadOptions
	previous bool
}

// parseLogQuery reads the pods/log query parameters, as the kubelet does.
func parseLogQuery(q url.Values, now time.Time) (logQuery, error) {
	var lq logQuery
	var err error
	if lq.opts.Follow, err = parseBool(q, "follow"); err != nil {
		return lq, err
	}
	if lq.opts.Timestamps, err = parseBool(q, "timestamps"); err != nil {
		return lq, err
	}
	if lq.previous, err = parseBool(q, "previous"); err != nil {
		return lq, err
	}
	if lq.opts.TailLines, err = parseInt(q, "tailLines", 0); err != nil {
		return lq, err
	}
	if lq.opts.LimitBytes, err = parseInt(q, "limitBytes", 1); err != nil {
		return lq, err
	}
	since, err := parseInt(q, "sinceSeconds", 1)
	if err != nil {
		return lq, err
	}
	if since != nil {
		lq.opts.Since = now.Add(-time.Duration(*since) * time.Second)
	}
	if v := q.Get("sinceTime"); v != "" {
		if since != nil {
			return lq, errors.New("at most one of sinceTime or sinceSeconds may be specified")
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return lq, fmt.Errorf("sinceTime: %w", err)
		}
		lq.opts.Since = t
	}
	return lq, nil
}

func parseBool(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s: invalid boolean %q", name, v)
	}
	return b, nil
}

// parseInt reads an optional integer parameter that must be at least minimum.
func parseInt(q url.Values, name string, minimum int64) (*int64, error) {
	v := q.Get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%s: invalid integer %q", name, v)
	}
	if n < minimum {
		return nil, fmt.Errorf("%s: must be greater than or equal to %d", name, minimum)
	}
	return &n, nil
}

// containerLogs serves GET /containerLogs/{namespace}/{pod}/{container}.
func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) {
	ns, pod, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	lq, err := parseLogQuery(r.URL.Query(), time.Now())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	path, err := s.opts.Logs.LogPath(ns, pod, container, lq.previous)
	if err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, ErrNotFound) {
			code = http.StatusNotFound
		}
		http.Error(w, err.Error(), code)
		return
	}
	if d, ok := s.opts.Logs.(DoneLocator); ok && lq.opts.Follow && !lq.previous {
		lq.opts.Done = d.LogDone(ns, pod, container)
	}
	out := &streamWriter{w: w}
	if lq.opts.Follow {
		out.start() // a followed log waits for its file: answer now
	}
	err = logs.ReadLogs(r.Context(), path, lq.opts, out)
	switch {
	case err == nil || r.Context().Err() != nil:
		out.start() // an empty log is a 200 with no body
	case out.started:
		// The status is sent; the client sees the stream end early.
	case errors.Is(err, os.ErrNotExist):
		http.Error(w, fmt.Sprintf("log of container %q in pod %q not found", container, pod), http.StatusNotFound)
	default:
		http.Error(w, fmt.Sprintf("read log of container %q in pod %q: %v", container, pod, err), http.StatusInternalServerError)
	}
}

// streamWriter sends the status and headers with the first write, and flushes every
// write so that a followed log reaches the client as it is written.
type streamWriter struct {
	w       http.ResponseWriter
	started bool
}

func (s *streamWriter) start() {
	if s.started {
		return
	}
	s.started = true
	s.w.Header().Set("Content-Type", "text/plain")
	s.w.WriteHeader(http.StatusOK)
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *streamWriter) Write(p []byte) (int, error) {
	s.start()
	n, err := s.w.Write(p)
	if f, ok := s.w.(http.Flusher); ok {
		f.Flush()
	}
	return n, err
}
