package logs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock returns 2026-11-23T05:00:00Z plus one second per call.
func fakeClock() func() time.Time {
	t := time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC)
	return func() time.Time {
		t = t.Add(time.Second)
		return t
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriterRotates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	// Each entry is 36 bytes + its message: "2026-11-23T05:00:01.000000000Z stdout F x\n" is 42.
	w, err := NewWriter(path, WriterOptions{MaxSize: 90, Now: fakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"a", "b", "c", "d", "e"} {
		if err := w.WriteEntry(Stdout, false, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantOld := "2026-11-23T05:00:03.000000000Z stdout F c\n2026-11-23T05:00:04.000000000Z stdout F d\n"
	wantCur := "2026-11-23T05:00:05.000000000Z stdout F e\n"
	if got := readFile(t, path+".1"); got != wantOld {
		t.Errorf("rotated file:\n%s\nwant:\n%s", got, wantOld)
	}
	if got := readFile(t, path); got != wantCur {
		t.Errorf("current file:\n%s\nwant:\n%s", got, wantCur)
	}
	if err := w.WriteEntry(Stdout, false, []byte("late")); err == nil {
		t.Errorf("write after Close succeeded")
	}
}

func TestWriterAppendsAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.log")
	clock := fakeClock()
	for _, msg := range []string{"first", "second"} {
		w, err := NewWriter(path, WriterOptions{MaxSize: 1 << 20, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteEntry(Stderr, false, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		w.Close()
	}
	want := "2026-11-23T05:00:01.000000000Z stderr F first\n2026-11-23T05:00:02.000000000Z stderr F second\n"
	if got := readFile(t, path); got != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
}

func TestCopyLines(t *testing.T) {
	long := strings.Repeat("x", MaxLineSize)
	tests := []struct {
		name  string
		input string
		want  []string // "tag msg" per entry
	}{
		{"lines", "one\ntwo\n", []string{"F one", "F two"}},
		{"empty line", "\n", []string{"F "}},
		{"no final newline", "one\ntwo", []string{"F one", "F two"}},
		{"long line split", long + "yz\n", []string{"P " + long, "F yz"}},
		{"exactly one buffer then newline", long + "\n", []string{"P " + long, "F "}},
		{"nothing", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.log")
			w, err := NewWriter(path, WriterOptions{Now: fakeClock()})
			if err != nil {
				t.Fatal(err)
			}
			if err := CopyLines(w, Stdout, strings.NewReader(tt.input)); err != nil {
				t.Fatal(err)
			}
			w.Close()
			var got []string
			for line := range strings.Lines(readFile(t, path)) {
				e, err := ParseEntry([]byte(line))
				if err != nil {
					t.Fatalf("written line %q: %v", line, err)
				}
				tag := "F"
				if e.Partial {
					tag = "P"
				}
				got = append(got, tag+" "+string(e.Msg))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
		})
	}
}
