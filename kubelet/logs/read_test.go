package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestReadLogs(t *testing.T) {
	const (
		l1 = "2026-11-23T05:00:01.000000000Z stdout F one\n"
		l2 = "2026-11-23T05:00:02.000000000Z stderr F two\n"
		l3 = "2026-11-23T05:00:03.5Z stdout F three\n"
		p1 = "2026-11-23T05:00:04.000000000Z stdout P thr\n"
		p2 = "2026-11-23T05:00:05.000000000Z stderr F err between\n"
		p3 = "2026-11-23T05:00:06.000000000Z stdout P ee-\n"
		p4 = "2026-11-23T05:00:07.000000000Z stdout F parts\n"
	)
	tests := []struct {
		name    string
		rotated string // contents of path.1; "" for none
		current string
		opts    ReadOptions
		want    string
	}{
		{name: "all", current: l1 + l2 + l3, want: "one\ntwo\nthree\n"},
		{name: "timestamps", current: l1 + l3, opts: ReadOptions{Timestamps: true},
			want: "2026-11-23T05:00:01Z one\n2026-11-23T05:00:03.5Z three\n"},
		{name: "rotated file first", rotated: l1, current: l2 + l3, want: "one\ntwo\nthree\n"},
		{name: "tail", current: l1 + l2 + l3, opts: ReadOptions{TailLines: ptr[int64](2)}, want: "two\nthree\n"},
		{name: "tail reaches into the rotated file", rotated: l1 + l2, current: l3, opts: ReadOptions{TailLines: ptr[int64](2)}, want: "two\nthree\n"},
		{name: "tail zero", current: l1 + l2, opts: ReadOptions{TailLines: ptr[int64](0)}, want: ""},
		{name: "tail more than there is", current: l1, opts: ReadOptions{TailLines: ptr[int64](10)}, want: "one\n"},
		{name: "limit bytes cuts a line", current: l1 + l2 + l3, opts: ReadOptions{LimitBytes: ptr[int64](6)}, want: "one\ntw"},
		{name: "limit bytes at a line end", current: l1 + l2 + l3, opts: ReadOptions{LimitBytes: ptr[int64](4)}, want: "one\n"},
		{name: "since", current: l1 + l2 + l3, opts: ReadOptions{Since: time.Date(2026, 11, 23, 5, 0, 2, 0, time.UTC)}, want: "two\nthree\n"},
		{name: "partial entries joined per stream", current: p1 + p2 + p3 + p4,
			want: "err between\nthree-parts\n"},
		{name: "partial line takes its first timestamp", current: p1 + p3 + p4, opts: ReadOptions{Timestamps: true},
			want: "2026-11-23T05:00:04Z three-parts\n"},
		{name: "tail counts joined lines", current: l1 + p1 + p3 + p4, opts: ReadOptions{TailLines: ptr[int64](1)}, want: "three-parts\n"},
		{name: "unfinished partial line written at the end", current: l1 + p1, want: "one\nthr\n"},
		{name: "malformed lines skipped", current: l1 + "garbage\n" + l2, want: "one\ntwo\n"},
		{name: "last line without newline", current: l1 + strings.TrimSuffix(l2, "\n"), want: "one\ntwo\n"},
		{name: "empty file", current: "", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.log")
			if tt.rotated != "" {
				if err := os.WriteFile(path+".1", []byte(tt.rotated), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(path, []byte(tt.current), 0o644); err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := ReadLogs(context.Background(), path, tt.opts, &buf); err != nil {
				t.Fatalf("ReadLogs: %v", err)
			}
			if got := buf.String(); got != tt.want {
				t.Errorf("ReadLogs wrote:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestReadLogsMissingFile(t *testing.T) {
	err := ReadLogs(context.Background(), filepath.Join(t.TempDir(), "none.log"), ReadOptions{}, &bytes.Buffer{})
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadLogs of a missing file: %v, want os.ErrNotExist", err)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestReadLogsFollowsRotation follows a file that a writer fills and rotates
// many times, and checks that every line arrives once, in order.
func TestReadLogsFollowsRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	w, err := NewWriter(path, WriterOptions{MaxSize: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	const n = 300
	var want strings.Builder
	for i := range n {
		fmt.Fprintf(&want, "line %d\n", i)
	}

	done := make(chan struct{})
	var out syncBuffer
	readErr := make(chan error, 1)
	go func() {
		readErr <- ReadLogs(context.Background(), path, ReadOptions{Follow: true, Done: done}, &out)
	}()
	for i := range n {
		if err := w.WriteEntry(Stdout, false, fmt.Appendf(nil, "line %d", i)); err != nil {
			t.Fatal(err)
		}
		if i%20 == 0 {
			// Let the reader catch up now and then: it keeps up with one
			// rotation per poll, as a kubelet's reader of a live container does.
			waitFor(t, func() bool { return strings.Contains(out.String(), fmt.Sprintf("line %d\n", i)) })
		}
	}
	waitFor(t, func() bool { return strings.Contains(out.String(), fmt.Sprintf("line %d\n", n-1)) })
	close(done)
	if err := <-readErr; err != nil {
		t.Fatalf("ReadLogs: %v", err)
	}
	if got := out.String(); got != want.String() {
		t.Errorf("followed output differs: got %d bytes, want %d\n%s", len(got), want.Len(), got)
	}
}

func TestReadLogsFollowWaitsForFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	done := make(chan struct{})
	var out syncBuffer
	readErr := make(chan error, 1)
	go func() {
		readErr <- ReadLogs(context.Background(), path, ReadOptions{Follow: true, Done: done, TailLines: ptr[int64](1)}, &out)
	}()
	w, err := NewWriter(path, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.WriteEntry(Stdout, false, []byte("a"))
	w.WriteEntry(Stdout, true, []byte("b"))
	waitFor(t, func() bool { return out.String() != "" })
	w.WriteEntry(Stdout, false, []byte("c"))
	waitFor(t, func() bool { return strings.Contains(out.String(), "bc") })
	close(done)
	if err := <-readErr; err != nil {
		t.Fatalf("ReadLogs: %v", err)
	}
	if got, want := out.String(), "a\nbc\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReadLogsFollowStopsWithContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	readErr := make(chan error, 1)
	go func() { readErr <- ReadLogs(ctx, path, ReadOptions{Follow: true}, &bytes.Buffer{}) }()
	cancel()
	if err := <-readErr; !errors.Is(err, context.Canceled) {
		t.Errorf("ReadLogs after cancel: %v, want context.Canceled", err)
	}
}

// waitFor polls cond for up to 20 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after 20s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
