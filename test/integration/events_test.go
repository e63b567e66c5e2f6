package integration

import (
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestEventsExpire: Events are stored on an etcd lease of about an hour (kube-apiserver's
// --event-ttl), so they do not pile up; other kinds are not.
func TestEventsExpire(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "e1", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p", Namespace: ns},
		Reason:         "Tested", Message: "an event", Type: corev1.EventTypeNormal,
	}
	if _, err := shared.Client.CoreV1().Events(ns).Create(c, ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	resp, err := shared.EtcdClient().Get(c, "/registry/core/events/"+ns+"/e1")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("event key: %v", err)
	}
	lease := clientv3.LeaseID(resp.Kvs[0].Lease)
	if lease == 0 {
		t.Fatal("event stored without a lease")
	}
	ttl, err := shared.EtcdClient().TimeToLive(c, lease)
	if err != nil || ttl.TTL < 3500 || ttl.TTL > 3700 {
		t.Errorf("event lease TTL %d (%v), want about 3660s", ttl.TTL, err)
	}
	shared.Client.CoreV1().ConfigMaps(ns).Create(c, configMap(ns, "cm", "1"), metav1.CreateOptions{})
	resp, _ = shared.EtcdClient().Get(c, "/registry/core/configmaps/"+ns+"/cm")
	if len(resp.Kvs) != 1 || resp.Kvs[0].Lease != 0 {
		t.Errorf("configmap stored with a lease")
	}
}
