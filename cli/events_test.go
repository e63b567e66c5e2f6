package cli

import (
	"bytes"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestEventsTable(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	events := []corev1.Event{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "b"}, Type: "Normal", Reason: "Scheduled",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1"}, Message: "Successfully assigned shop/web-1 to node-1\n",
			EventTime: metav1.NewMicroTime(now.Add(-5 * time.Minute))},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "a"}, Type: "Warning", Reason: "BackOff",
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web-1"}, Message: "Back-off restarting failed container",
			Count: 7, FirstTimestamp: metav1.NewTime(now.Add(-10 * time.Minute)), LastTimestamp: metav1.NewTime(now.Add(-time.Minute))},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "c", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))}, Type: "Normal",
			Reason: "RegisteredNode", InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "node-1"}, Message: "Registered"},
	}
	SortEvents(events)
	var b bytes.Buffer
	if err := EventsTable(events, now, true).Write(&b, false); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"NAMESPACE   LAST SEEN           TYPE      REASON           OBJECT        MESSAGE\n" +
		"default     60m                 Normal    RegisteredNode   node/node-1   Registered\n" +
		"shop        5m                  Normal    Scheduled        pod/web-1     Successfully assigned shop/web-1 to node-1\n" +
		"shop        60s (x7 over 10m)   Warning   BackOff          pod/web-1     Back-off restarting failed container\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
