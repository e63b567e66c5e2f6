// Command hello is the small web server that the demo app (examples/hello)
// runs as the image berth.dev/hello:latest, which `make images` builds.
//
// It listens on $PORT (default 8080) and answers
//
//	GET /         hello from <POD_NAME> (<VERSION>): <MESSAGE>
//	GET /healthz  ok
//
// POD_NAME and MESSAGE come from the environment (the Deployment fills them
// from the downward API and a ConfigMap); without POD_NAME it names the host.
// VERSION comes from the environment too, or else from the value linked in at
// build time:
//
//	CGO_ENABLED=0 go build -ldflags "-X main.version=v2" ./examples/apps/hello
//
// Every request is logged to stdout, so that `kubectl logs` has something to
// show. On SIGTERM (or SIGINT) it says "received SIGTERM", stops accepting
// connections, finishes the requests in flight and exits 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// version is the version reported when $VERSION is unset; `make images` sets
// it with -ldflags "-X main.version=...".
var version = "dev"

// shutdownTimeout bounds how long requests in flight may take after SIGTERM.
const shutdownTimeout = 5 * time.Second

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	if err := run(os.Getenv, os.Stdout, signals, nil); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}

// run serves until a signal arrives on signals, then shuts down gracefully.
// getenv reads the configuration; the request log and the lifecycle messages
// go to out. If ready is not nil it is called with the listening address
// once connections are accepted.
func run(getenv func(string) string, out io.Writer, signals <-chan os.Signal, ready func(net.Addr)) error {
	logger := log.New(out, "", log.LstdFlags|log.LUTC)
	g := greetingFromEnv(getenv)

	port := getenv("PORT")
	if port == "" {
		port = "8080"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", port))
	if err != nil {
		return fmt.Errorf("listen on port %s: %w", port, err)
	}
	srv := &http.Server{
		Handler:           newHandler(g, logger),
		ReadHeaderTimeout: 10 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Printf("hello %s listening on %s", g.version, ln.Addr())
	if ready != nil {
		ready(ln.Addr())
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case sig := <-signals:
		logger.Printf("received %s, shutting down", signalName(sig))
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Printf("stopped")
	return nil
}

// signalName spells the signals hello handles as a shell does (SIGTERM, not
// "terminated"), so that a test can look for "received SIGTERM" in the log.
func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return sig.String()
}
