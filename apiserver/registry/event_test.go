package registry

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// validEvent is a kubelet event about a pod.
func validEvent() *corev1.Event {
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1.17a8b3c", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web-1", UID: "u1",
			APIVersion: "v1", ResourceVersion: "42", FieldPath: "spec.containers{web}"},
		Reason: "Pulled", Message: "Successfully pulled image \"nginx\"\n", Type: corev1.EventTypeNormal,
		Source: corev1.EventSource{Component: "kubelet", Host: "node-1"},
		Count:  2,
	}
}

func TestEventValidation(t *testing.T) {
	k := Events()
	checkPaths(t, k.ValidateCreate(validEvent()))

	other := validEvent()
	other.InvolvedObject.Namespace = "kube-system"
	checkPaths(t, k.ValidateCreate(other), "involvedObject.namespace: Invalid value")

	node := validEvent()
	node.InvolvedObject = corev1.ObjectReference{Kind: "Node", Name: "node-1"}
	checkPaths(t, k.ValidateCreate(node))

	newStyle := validEvent()
	newStyle.EventTime = metav1.NewMicroTime(time.Now())
	newStyle.Reason = ""
	checkPaths(t, k.ValidateCreate(newStyle),
		"reportingComponent: Required value",
		"reportingInstance: Required value", "action: Required value", "reason: Required value")
}

func TestEventFieldsAndRow(t *testing.T) {
	e := validEvent()
	want := fields.Set{
		"metadata.name": "web-1.17a8b3c", "metadata.namespace": "default",
		"involvedObject.kind": "Pod", "involvedObject.namespace": "default", "involvedObject.name": "web-1",
		"involvedObject.uid": "u1", "involvedObject.apiVersion": "v1", "involvedObject.resourceVersion": "42",
		"involvedObject.fieldPath": "spec.containers{web}", "reason": "Pulled", "reportingComponent": "",
		"source": "kubelet", "type": "Normal",
	}
	if d := diff(want, Events().ObjectFields(e, e.Name, e.Namespace)); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}

	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	e.FirstTimestamp = metav1.NewTime(now.Add(-10 * time.Minute))
	e.LastTimestamp = metav1.NewTime(now.Add(-2 * time.Minute))
	row := []interface{}{"2m", "Normal", "Pulled", "pod/web-1", "spec.containers{web}", "kubelet, node-1",
		"Successfully pulled image \"nginx\"", "10m", int64(2)}
	if d := diff(row, eventRow(e, now)); d != "" {
		t.Errorf("row (-want +got):\n%s", d)
	}
	if len(eventColumns) != len(row)+1 || eventColumns[0].Name != "Name" || eventColumns[0].Priority != 1 {
		t.Errorf("event columns: %d, first %+v", len(eventColumns), eventColumns[0])
	}
}
