package sync

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func cmAt(name, rv string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]interface{}{"apiVersion": "v1", "kind": "ConfigMap"}}
	u.SetNamespace("ns")
	u.SetName(name)
	u.SetResourceVersion(rv)
	return u
}

// TestOwnWrites: events of our own writes schedule nothing, whether they arrive
// during the apply or after it; another writer's change schedules a sync.
func TestOwnWrites(t *testing.T) {
	o := newOwnWrites()
	o.begin("ns/src")
	if o.seen("ns/src", cmAt("a", "10")) {
		t.Error("an event during the apply scheduled a sync at once")
	}
	if o.end("ns/src", []Result{{Obj: cmAt("a", "10")}, {Obj: cmAt("b", "11")}}) {
		t.Error("our own write, seen during the apply, counted as foreign")
	}
	if o.seen("ns/src", cmAt("b", "11")) {
		t.Error("our own write, seen after the apply, scheduled a sync")
	}
	if !o.seen("ns/src", cmAt("b", "12")) {
		t.Error("another writer's change did not schedule a sync")
	}
	o.begin("ns/src")
	o.seen("ns/src", cmAt("c", "20"))
	if !o.end("ns/src", []Result{{Obj: cmAt("a", "21")}}) {
		t.Error("a foreign change during the apply was not reported")
	}
}
