package apiserver

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestKubeletURLOf(t *testing.T) {
	node := func(ann string, port int32, addrs ...corev1.NodeAddress) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
		if ann != "" {
			n.Annotations = map[string]string{KubeletEndpointAnnotation: ann}
		}
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
		n.Status.Addresses = addrs
		return n
	}
	internal := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}
	internal6 := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fd00::5"}
	host := corev1.NodeAddress{Type: corev1.NodeHostName, Address: "box"}
	tests := []struct {
		name string
		node *corev1.Node
		want string // "" for an error
	}{
		{"annotation wins", node("https://127.0.0.1:10350", 10250, internal), "https://127.0.0.1:10350"},
		{"internal ip and port", node("", 10251, host, internal), "https://10.0.0.5:10251"},
		{"default port", node("", 0, internal), "https://10.0.0.5:10250"},
		{"ipv6", node("", 10250, internal6), "https://[fd00::5]:10250"},
		{"hostname", node("", 10250, host), "https://box:10250"},
		{"no address", node("", 10250), ""},
		{"bad annotation", node("127.0.0.1:10250", 10250, internal), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := kubeletURLOf(tt.node)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("got %s, want an error", u)
				}
				if !strings.Contains(err.Error(), `"n1"`) {
					t.Errorf("error %q does not name the node", err)
				}
				return
			}
			if err != nil || u.String() != tt.want {
				t.Errorf("got %v, %v; want %s", u, err, tt.want)
			}
		})
	}
}

func TestLogContainer(t *testing.T) {
	one := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	two := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init"}},
		Containers:     []corev1.Container{{Name: "app"}, {Name: "side"}},
	}}
	tests := []struct {
		name, container string
		pod             *corev1.Pod
		want, err       string
	}{
		{"only container", "", one, "app", ""},
		{"named", "app", one, "app", ""},
		{"init", "init", two, "init", ""},
		{"must choose", "", two, "", "a container name must be specified for pod p, choose one of: [app side] or one of the init containers: [init]"},
		{"unknown", "nope", one, "", "container nope is not valid for pod p"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := logContainer(tt.pod, tt.container)
			if tt.err != "" {
				if !apierrors.IsBadRequest(err) || err.Error() != tt.err {
					t.Fatalf("error %v, want BadRequest %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestValidatePodLogQuery(t *testing.T) {
	tests := []struct {
		query string
		ok    bool
	}{
		{"", true},
		{"tailLines=0&limitBytes=1&sinceSeconds=1&follow=true", true},
		{"tailLines=-1", false},
		{"tailLines=x", false},
		{"limitBytes=0", false},
		{"sinceSeconds=0", false},
		{"sinceSeconds=5&sinceTime=2026-01-01T00:00:00Z", false},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		err := validatePodLogQuery(q)
		if (err == nil) != tt.ok {
			t.Errorf("%q: error %v, want ok=%v", tt.query, err, tt.ok)
		}
		if err != nil && !apierrors.IsBadRequest(err) {
			t.Errorf("%q: error %v is not BadRequest", tt.query, err)
		}
	}
}

func TestKubeletError(t *testing.T) {
	tests := []struct {
		code     int
		body     string
		wantCode int32
		wantMsg  string
	}{
		{400, "previous terminated container \"c\" in pod \"p\" not found\n", 400, "previous terminated container \"c\" in pod \"p\" not found"},
		{404, "container \"c\" in pod \"p\" is not available", 404, "container \"c\" in pod \"p\" is not available"},
		{401, "Unauthorized", 500, "the kubelet of node \"n1\" refused the API server"},
		{503, "", 503, "the kubelet of node \"n1\": 503"},
	}
	for _, tt := range tests {
		resp := &http.Response{StatusCode: tt.code, Status: fmt.Sprintf("%d %s", tt.code, http.StatusText(tt.code)), Body: io.NopCloser(strings.NewReader(tt.body))}
		err := kubeletError("n1", resp)
		var se *apierrors.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("%d: %v is not a StatusError", tt.code, err)
		}
		if se.ErrStatus.Code != tt.wantCode || !strings.Contains(se.ErrStatus.Message, tt.wantMsg) {
			t.Errorf("%d: got %d %q, want %d containing %q", tt.code, se.ErrStatus.Code, se.ErrStatus.Message, tt.wantCode, tt.wantMsg)
		}
	}
}
