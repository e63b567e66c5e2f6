package logs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strconv"
	"time"
)

// DriverCommand is the name of berth's hidden subcommand that runs as a
// container's log driver: `berth log-driver SPEC`.
//
// containerd's binary logging starts the log driver from the container's
// shim, passing the stdout and stderr pipes as file descriptors 3 and 4 and
// a pipe on descriptor 5 to close once ready. The driver thus lives as long
// as the container's task, whatever happens to the kubelet. The shim turns
// the query of the logging URI into arguments in random order, one pair per
// key, so the whole spec travels as one value of one key, DriverCommand:
// the arguments are exactly DriverCommand and SPEC.
const DriverCommand = "log-driver"

// drainTimeout is how long the driver keeps reading after it was told to
// stop (the shim closes the pipes first, so the end comes at once).
const drainTimeout = 2 * time.Second

// DriverSpec says where a container's log driver writes.
type DriverSpec struct {
	// Path is the log file, absolute.
	Path string
	// MaxSize rotates the file at this size (see WriterOptions.MaxSize).
	MaxSize int64
}

// DriverArgs returns the arguments of containerd's cio.BinaryIO for a log
// driver writing as spec says.
func DriverArgs(spec DriverSpec) map[string]string {
	q := url.Values{}
	q.Set("path", spec.Path)
	q.Set("max-size", strconv.FormatInt(spec.MaxSize, 10))
	return map[string]string{DriverCommand: q.Encode()}
}

// ParseDriverSpec parses the SPEC argument of `berth log-driver`.
func ParseDriverSpec(s string) (DriverSpec, error) {
	q, err := url.ParseQuery(s)
	if err != nil {
		return DriverSpec{}, fmt.Errorf("log driver spec %q: %w", s, err)
	}
	spec := DriverSpec{Path: q.Get("path")}
	if !filepath.IsAbs(spec.Path) {
		return DriverSpec{}, fmt.Errorf("log driver spec %q: path %q is not absolute", s, spec.Path)
	}
	if v := q.Get("max-size"); v != "" {
		spec.MaxSize, err = strconv.ParseInt(v, 10, 64)
		if err != nil {
			return DriverSpec{}, fmt.Errorf("log driver spec %q: max-size: %w", s, err)
		}
	}
	return spec, nil
}

// RunDriver copies a container's stdout and stderr into the log file spec
// names until both end, calling ready once the file is open. When ctx ends
// it goes on reading for a short while, so that what the container wrote
// last is kept, then returns.
//
// If the file cannot be opened, the output is read and dropped (the
// container must not block on a full pipe) and the error is returned at the
// end.
func RunDriver(ctx context.Context, spec DriverSpec, stdout, stderr io.Reader, ready func() error) error {
	w, openErr := NewWriter(spec.Path, WriterOptions{MaxSize: spec.MaxSize})
	if err := ready(); err != nil {
		return fmt.Errorf("log driver: signal ready: %w", err)
	}
	if openErr != nil {
		done := make(chan struct{}, 2)
		for _, r := range []io.Reader{stdout, stderr} {
			go func() { _, _ = io.Copy(io.Discard, r); done <- struct{}{} }()
		}
		<-done
		<-done
		return openErr
	}
	defer w.Close()

	errs := make(chan error, 2)
	go func() { errs <- CopyLines(w, Stdout, stdout) }()
	go func() { errs <- CopyLines(w, Stderr, stderr) }()
	var (
		all     []error
		stop    = ctx.Done()
		timeout <-chan time.Time
	)
	for pending := 2; pending > 0; {
		select {
		case err := <-errs:
			all = append(all, err)
			pending--
		case <-stop:
			stop, timeout = nil, time.After(drainTimeout)
		case <-timeout:
			return errors.Join(append(all, errors.New("log driver: streams still open after stop"))...)
		}
	}
	return errors.Join(all...)
}
