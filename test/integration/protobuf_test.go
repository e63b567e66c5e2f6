package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
)

// getAs fetches a path with an Accept header and returns the body and content type.
func getAs(t *testing.T, path, accept string) ([]byte, string) {
	t.Helper()
	client, _ := rest.HTTPClientFor(shared.Config)
	req, _ := http.NewRequestWithContext(ctx(t), "GET", shared.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+shared.Config.BearerToken)
	req.Header.Set("Accept", accept)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	return b, resp.Header.Get("Content-Type")
}

// TestProtobufMatchesJSON: lists and objects served as protobuf (what client-go's typed
// clients ask for) decode to exactly what the JSON representation holds.
func TestProtobufMatchesJSON(t *testing.T) {
	ns := testNamespace(t, shared)
	c := ctx(t)
	for i := 0; i < 3; i++ {
		p := pod(ns, fmt.Sprintf("p%d", i), map[string]string{"i": fmt.Sprint(i)})
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "b"}}
		if _, err := shared.Client.CoreV1().Pods(ns).Create(c, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	ser := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	decode := func(b []byte, into runtime.Object) {
		if _, _, err := ser.Decode(b, nil, into); err != nil {
			t.Fatalf("decode protobuf: %v", err)
		}
	}
	path := "/api/v1/namespaces/" + ns + "/pods"
	pb, ct := getAs(t, path, "application/vnd.kubernetes.protobuf,application/json")
	if ct != "application/vnd.kubernetes.protobuf" {
		t.Fatalf("content type %q, want protobuf", ct)
	}
	js, _ := getAs(t, path, "application/json")
	var fromPB, fromJSON corev1.PodList
	decode(pb, &fromPB)
	if err := json.Unmarshal(js, &fromJSON); err != nil {
		t.Fatal(err)
	}
	// Items carry no kind in protobuf (nor in kube-apiserver's JSON); compare the rest.
	fromPB.TypeMeta, fromJSON.TypeMeta = metav1.TypeMeta{}, metav1.TypeMeta{}
	for i := range fromJSON.Items {
		fromJSON.Items[i].TypeMeta = metav1.TypeMeta{}
	}
	if d := cmp.Diff(fromJSON, fromPB); d != "" || len(fromPB.Items) != 3 {
		t.Errorf("protobuf list differs from JSON (-json +protobuf):\n%s", d)
	}
	one, _ := getAs(t, path+"/p1", "application/vnd.kubernetes.protobuf")
	var p1 corev1.Pod
	decode(one, &p1)
	if p1.Name != "p1" || p1.Spec.Containers[0].Env[0].Value != "b" {
		t.Errorf("protobuf pod: %+v", p1.ObjectMeta)
	}
	// GitSource has no protobuf: it is JSON even when protobuf is preferred.
	if _, ct := getAs(t, "/apis/berth.dev/v1alpha1/gitsources", "application/vnd.kubernetes.protobuf,application/json"); ct != "application/json" {
		t.Errorf("gitsources content type %q, want JSON", ct)
	}
}
