package sync

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestPlanGolden runs the transcripts in testdata/plan: a revision applied before
// (as the server holds it: labelled, annotated and defaulted), optional changes made
// outside git (JSON merge patches by object), the new revision, then after "----" the
// plan: one line per action, with the patch of updates.
//
//	-- applied --
//	<YAML documents>
//	-- edits --
//	apps/Deployment default/web: {"spec":{"replicas":5}}
//	-- desired --
//	<YAML documents>
//	----
//	unchanged apps/Deployment default/web
func TestPlanGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/plan/*.txt")
	if len(files) == 0 {
		t.Fatal("no transcripts")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, want, _ := strings.Cut(string(data), "\n----\n")
			sections := parseSections(input)
			live := map[ID]*unstructured.Unstructured{}
			for _, d := range docs(t, sections["applied"]) {
				u := applied(t, "src", d)
				live[IDOf(u)] = u
			}
			if owner := strings.TrimSpace(sections["owner"]); owner != "" {
				for _, u := range live {
					l := u.GetLabels()
					l[SourceLabel] = owner
					u.SetLabels(l)
				}
			}
			for _, line := range strings.Split(strings.TrimSpace(sections["edits"]), "\n") {
				if line == "" {
					continue
				}
				name, patch, _ := strings.Cut(line, ": ")
				edit(t, live, name, patch)
			}
			actions, err := Plan(Source{Namespace: "ns", Name: "src"}, docs(t, sections["desired"]), live)
			got := render(actions, err)
			if *update {
				os.WriteFile(file, []byte(input+"\n----\n"+got), 0o644)
				return
			}
			if got != want {
				t.Errorf("plan differs (-want +got):\n--- want\n%s--- got\n%s", want, got)
			}
		})
	}
}

func parseSections(s string) map[string]string {
	out := map[string]string{}
	var name string
	var buf strings.Builder
	for _, line := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(line, "-- ") && strings.HasSuffix(strings.TrimSpace(line), " --") {
			if name != "" {
				out[name] = buf.String()
			}
			name = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line), "-- "), " --")
			buf.Reset()
			continue
		}
		buf.WriteString(line)
	}
	if name != "" {
		out[name] = buf.String()
	}
	return out
}

func docs(t *testing.T, s string) []*Desired {
	var out []*Desired
	for i, doc := range strings.Split(s, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		d := desired(t, doc)
		d.Line = i + 1
		out = append(out, d)
	}
	return out
}

// edit applies a JSON merge patch to a live object, as a change outside git.
func edit(t *testing.T, live map[ID]*unstructured.Unstructured, name, patch string) {
	for id, u := range live {
		if id.String() == name {
			var p map[string]interface{}
			if err := yaml.Unmarshal([]byte(patch), &p); err != nil {
				t.Fatal(err)
			}
			merge(u.Object, p)
			return
		}
	}
	t.Fatalf("edit of %s: no such live object", name)
}

func merge(dst, patch map[string]interface{}) {
	for k, v := range patch {
		if pm, ok := v.(map[string]interface{}); ok {
			if dm, ok := dst[k].(map[string]interface{}); ok {
				merge(dm, pm)
				continue
			}
		}
		if v == nil {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
}

func render(actions []Action, err error) string {
	var b bytes.Buffer
	for _, a := range actions {
		fmt.Fprintf(&b, "%s %s", a.Type, a.ID)
		if a.Type == Update {
			fmt.Fprintf(&b, " %s", a.Patch)
		}
		b.WriteByte('\n')
	}
	if err != nil {
		lines := strings.Split(err.Error(), "\n")
		sort.Strings(lines)
		for _, l := range lines {
			fmt.Fprintf(&b, "error: %s\n", l)
		}
	}
	return b.String()
}
