package registry

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// cmpOpts compare API objects: nil and empty are equal, as they are after a
// JSON round trip.
var cmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

// diff is cmp.Diff with cmpOpts.
func diff(want, got any) string {
	return cmp.Diff(want, got, cmpOpts...)
}

// render prints v as indented JSON, or with %#v when it does not marshal.
func render(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// paths renders errors as sorted "path: type" strings, what tests assert.
func paths(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Field+": "+e.Type.String())
	}
	sort.Strings(out)
	return out
}

// wantPaths sorts expected "path: type" strings, and is nil for none.
func wantPaths(p ...string) []string {
	out := append([]string{}, p...)
	sort.Strings(out)
	return out
}

// checkPaths fails t when errs do not have exactly the wanted paths.
func checkPaths(t *testing.T, errs field.ErrorList, want ...string) {
	t.Helper()
	got := paths(errs)
	if d := diff(wantPaths(want...), got); d != "" {
		t.Errorf("error paths (-want +got):\n%s\nerrors: %v", d, errs.ToAggregate())
	}
}

// defaulted returns obj after k.Default.
func defaulted[T runtime.Object](k *Kind, obj T) T {
	if k.Default != nil {
		k.Default(obj)
	}
	return obj
}

// deepCopy copies a runtime.Object of type T.
func deepCopy[T runtime.Object](obj T) T {
	return obj.DeepCopyObject().(T)
}
