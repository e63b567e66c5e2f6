package manifests

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the expected output of testdata/*.txt")

// TestGolden loads the tree of each testdata/*.txt transcript and compares what
// Load reports with the expected output after the "----" line.
//
// A transcript starts with comment lines (#) and options:
//
//	path: apps                    Options.Path
//	namespaces: default kube-system  namespaces the cluster has (default: default)
//
// then the files of the tree, each after a "-- name --" line, then "----" and
// the expected output: one line per object ("file:line: ID") or the errors.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.txt")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			tr, err := parseTranscript(data)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			objs, err := LoadFS(tr.files, tr.opts)
			got := formatResult(objs, err)
			if *update {
				if err := os.WriteFile(file, append(tr.input, "----\n"+got...), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(tr.want, got); diff != "" {
				t.Errorf("%s: output differs (-want +got):\n%s", file, diff)
			}
		})
	}
}

// formatResult renders what LoadFS returned as a transcript's expected output.
func formatResult(objs []*Object, err error) string {
	var b strings.Builder
	if err != nil {
		if _, ok := err.(Errors); !ok {
			b.WriteString("error: ")
		}
		b.WriteString(err.Error())
		b.WriteString("\n")
	}
	for _, o := range objs {
		fmt.Fprintf(&b, "%s:%d: %s\n", o.File, o.Line, o.ID())
	}
	return b.String()
}

// transcript is a parsed testdata file.
type transcript struct {
	input []byte // everything before the "----" line
	opts  Options
	files fstest.MapFS
	want  string
}

// parseTranscript parses a transcript: options, "-- name --" files, "----",
// expected output.
func parseTranscript(data []byte) (*transcript, error) {
	input, want, ok := bytes.Cut(data, []byte("\n----\n"))
	if !ok {
		return nil, fmt.Errorf(`no "----" line`)
	}
	tr := &transcript{
		input: append(input, '\n'),
		files: fstest.MapFS{},
		want:  string(want),
	}
	known := []string{"default"}
	var name string
	var body []string
	flush := func() {
		if name != "" {
			tr.files[name] = &fstest.MapFile{Data: []byte(strings.Join(body, "")), Mode: 0o644}
		}
	}
	for _, line := range strings.SplitAfter(string(tr.input), "\n") {
		trimmed := strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(trimmed, "-- ") && strings.HasSuffix(trimmed, " --") && len(trimmed) > 6 {
			flush()
			name, body = strings.TrimSpace(trimmed[3:len(trimmed)-3]), nil
			continue
		}
		if name != "" {
			body = append(body, line)
			continue
		}
		switch key, value, _ := strings.Cut(trimmed, ":"); {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
		case key == "path":
			tr.opts.Path = strings.TrimSpace(value)
		case key == "namespaces":
			known = strings.Fields(value)
		default:
			return nil, fmt.Errorf("unknown option line %q", trimmed)
		}
	}
	flush()
	tr.opts.KnownNamespaces = func(ns string) bool {
		for _, k := range known {
			if k == ns {
				return true
			}
		}
		return false
	}
	return tr, nil
}
