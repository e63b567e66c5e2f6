package sync

import (
	"strings"
	"testing"
)

func TestPatchPaths(t *testing.T) {
	for _, tc := range []struct{ patch, want string }{
		{`{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],"containers":[{"image":"hello:1","name":"web"}]}}}}`,
			"spec.template.spec.containers[web].image"},
		{`{"metadata":{"labels":{"tier":null}},"data":{"a":"b"}}`, "data.a metadata.labels.tier"},
		{`{}`, ""},
	} {
		if got := strings.Join(patchPaths([]byte(tc.patch)), " "); got != tc.want {
			t.Errorf("patchPaths(%s) = %q, want %q", tc.patch, got, tc.want)
		}
	}
}
