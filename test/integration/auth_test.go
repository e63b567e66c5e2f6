package integration

import (
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/berth-dev/berth/apiserver/auth"
)

// TestAuth: anonymous requests get 401; the readonly token reads but every write is
// 403 Forbidden; the node token writes node status but not workloads; health checks
// need no token; TLS is verified against the generated CA.
func TestAuth(t *testing.T) {
	c := ctx(t)
	ns := testNamespace(t, shared)
	anon := rest.CopyConfig(shared.Config)
	anon.BearerToken = ""
	_, err := kubernetes.NewForConfigOrDie(anon).CoreV1().Pods(ns).List(c, metav1.ListOptions{})
	if !apierrors.IsUnauthorized(err) {
		t.Errorf("anonymous list: %v, want 401", err)
	}
	wrong := rest.CopyConfig(shared.Config)
	wrong.BearerToken = "not-a-token"
	if _, err := kubernetes.NewForConfigOrDie(wrong).CoreV1().Pods(ns).List(c, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("wrong token: %v, want 401", err)
	}

	ro := shared.ClientFor(auth.RoleReadonly)
	if _, err := ro.CoreV1().Pods(ns).List(c, metav1.ListOptions{}); err != nil {
		t.Errorf("readonly list: %v", err)
	}
	_, err = ro.CoreV1().ConfigMaps(ns).Create(c, configMap(ns, "x", "1"), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("readonly create: %v, want 403", err)
	}
	if want := `User "berth-readonly" cannot create resource "configmaps" in API group "" in the namespace "` + ns + `"`; !strings.Contains(err.Error(), want) {
		t.Errorf("forbidden message %q lacks %q", err, want)
	}
	if err := ro.CoreV1().Namespaces().Delete(c, ns, metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("readonly delete: %v, want 403", err)
	}

	node := shared.ClientFor(auth.RoleNode)
	n, err := node.CoreV1().Nodes().Create(c, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "auth-node"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("node registers itself: %v", err)
	}
	defer shared.Client.CoreV1().Nodes().Delete(c, n.Name, metav1.DeleteOptions{})
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	if _, err := node.CoreV1().Nodes().UpdateStatus(c, n, metav1.UpdateOptions{}); err != nil {
		t.Errorf("node status update: %v", err)
	}
	if _, err := node.CoreV1().ConfigMaps(ns).Create(c, configMap(ns, "y", "1"), metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("node creates a configmap: %v, want 403", err)
	}

	client, _ := rest.HTTPClientFor(anon)
	for _, path := range []string{"/healthz", "/livez", "/readyz"} {
		resp, err := client.Get(shared.URL() + path)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %v %v", path, err, resp)
		} else {
			resp.Body.Close()
		}
	}
	resp, err := client.Get(shared.URL() + "/metrics")
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous /metrics: %v, want 401", resp.Status)
	}
	admin, _ := rest.HTTPClientFor(shared.Config)
	req, _ := http.NewRequest("GET", shared.URL()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+shared.Config.BearerToken)
	if resp, err := admin.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("admin /metrics: %v %v", err, resp)
	}

	untrusted := rest.CopyConfig(shared.Config)
	untrusted.CAData = nil
	if _, err := kubernetes.NewForConfigOrDie(untrusted).CoreV1().Pods(ns).List(c, metav1.ListOptions{}); err == nil {
		t.Errorf("a client without the CA connected")
	}
}
