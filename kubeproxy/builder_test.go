package kubeproxy

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/types"
)

// TestBuilderMatchesBuild checks that the caching Builder renders exactly
// what Build does, for every transcript's input, before and after a
// change to one EndpointSlice and one Service.
func TestBuilderMatchesBuild(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txt")
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, _, _ := strings.Cut(string(data), "\n----\n")
			in, err := parseInput(input)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range in.Services {
				s.UID, s.ResourceVersion = types.UID(fmt.Sprintf("svc-%d", i)), "1"
			}
			for i, s := range in.Slices {
				s.UID, s.ResourceVersion = types.UID(fmt.Sprintf("slice-%d", i)), "1"
			}
			var b Builder
			check := func(step string) {
				t.Helper()
				if diff := cmp.Diff(string(Build(in).Full(nil)), string(b.Build(in).Full(nil))); diff != "" {
					t.Errorf("%s: Builder differs from Build (-Build +Builder):\n%s", step, diff)
				}
			}
			check("first")
			check("unchanged")
			if len(in.Slices) > 0 {
				s := in.Slices[0].DeepCopy()
				s.Endpoints = s.Endpoints[:len(s.Endpoints)-1]
				s.ResourceVersion = "2"
				in.Slices[0] = s
				check("slice changed")
			}
			svc := in.Services[0].DeepCopy()
			svc.Spec.Ports[0].Port++
			svc.ResourceVersion = "2"
			in.Services[0] = svc
			check("service changed")
			in.Services = in.Services[1:]
			check("service removed")
			in.Node.Name = "other"
			check("node changed")
		})
	}
}
