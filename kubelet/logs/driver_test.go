package logs

import (
	"bytes"
	"context"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

func TestDriverSpecRoundTrip(t *testing.T) {
	spec := DriverSpec{Path: "/var/log/pods/ns_pod_uid/c&d=e/0.log", MaxSize: 10 << 20}
	args := DriverArgs(spec)
	if len(args) != 1 {
		t.Fatalf("DriverArgs gave %d keys, want one (the shim orders keys at random)", len(args))
	}
	// The shim builds the argv from the URI's query, as containerd does.
	u := &url.URL{Scheme: "binary", Path: "/usr/bin/berth"}
	q := u.Query()
	for k, v := range args {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	parsed, err := url.Parse(u.String())
	if err != nil {
		t.Fatal(err)
	}
	var argv []string
	for k, vs := range parsed.Query() {
		argv = append(argv, k, vs[0])
	}
	if argv[0] != DriverCommand {
		t.Fatalf("argv = %q, want %q first", argv, DriverCommand)
	}
	got, err := ParseDriverSpec(argv[1])
	if err != nil {
		t.Fatal(err)
	}
	if got != spec {
		t.Errorf("ParseDriverSpec = %+v, want %+v", got, spec)
	}
}

func TestParseDriverSpecErrors(t *testing.T) {
	for _, s := range []string{"", "path=relative.log", "path=%2Fa.log&max-size=big", "%zz"} {
		if spec, err := ParseDriverSpec(s); err == nil {
			t.Errorf("ParseDriverSpec(%q) = %+v, want an error", s, spec)
		}
	}
}

func TestRunDriver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	readyCalled := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- RunDriver(context.Background(), DriverSpec{Path: path}, outR, errR, func() error {
			close(readyCalled)
			return nil
		})
	}()
	<-readyCalled
	io.WriteString(outW, "to stdout\n")
	io.WriteString(errW, "to stderr")
	outW.Close()
	errW.Close()
	if err := <-done; err != nil {
		t.Fatalf("RunDriver: %v", err)
	}
	var buf bytes.Buffer
	if err := ReadLogs(context.Background(), path, ReadOptions{}, &buf); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	if got != "to stdout\nto stderr\n" && got != "to stderr\nto stdout\n" {
		t.Errorf("log holds %q", got)
	}
}

func TestRunDriverDrainsWhenFileFails(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	outR, outW := io.Pipe()
	errR, errW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- RunDriver(context.Background(), DriverSpec{Path: filepath.Join(blocker, "c.log")}, outR, errR, func() error { return nil })
	}()
	// The writes return: the driver reads them although it cannot keep them.
	io.WriteString(outW, "dropped\n")
	io.WriteString(errW, "dropped\n")
	outW.Close()
	errW.Close()
	if err := <-done; err == nil {
		t.Errorf("RunDriver with an unusable path returned no error")
	}
}
