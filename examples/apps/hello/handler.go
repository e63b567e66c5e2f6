package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

// greeting is what GET / says, read once at start.
type greeting struct {
	pod     string // $POD_NAME, or the host name
	version string // $VERSION, or the linked-in version
	message string // $MESSAGE; may be empty
}

// greetingFromEnv reads POD_NAME, VERSION and MESSAGE through getenv.
func greetingFromEnv(getenv func(string) string) greeting {
	g := greeting{pod: getenv("POD_NAME"), version: getenv("VERSION"), message: getenv("MESSAGE")}
	if g.pod == "" {
		// In a pod the host name is the pod name, so this is right even
		// without the downward API.
		if h, err := os.Hostname(); err == nil {
			g.pod = h
		} else {
			g.pod = "unknown"
		}
	}
	if g.version == "" {
		g.version = version
	}
	return g
}

// String is the line GET / answers, without the newline.
func (g greeting) String() string {
	s := fmt.Sprintf("hello from %s (%s)", g.pod, g.version)
	if g.message != "" {
		s += ": " + g.message
	}
	return s
}

// newHandler serves / and /healthz and logs every request to logger.
func newHandler(g greeting, logger *log.Logger) http.Handler {
	mux := http.NewServeMux()
	body := g.String() + "\n"
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, body)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "ok\n")
	})
	return logRequests(mux, logger)
}

// logRequests logs one line per request: method, path, status, client.
func logRequests(next http.Handler, logger *log.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		logger.Printf("%s %s %d %s", r.Method, r.URL.Path, rec.status, r.RemoteAddr)
	})
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

// WriteHeader records code and passes it on.
func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}
