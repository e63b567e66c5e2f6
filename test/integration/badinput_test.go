package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// rawRequest sends a request with the admin token and returns the status and the
// decoded metav1.Status of an error.
func rawRequest(t *testing.T, method, path, contentType string, body []byte) (int, metav1.Status) {
	t.Helper()
	client, err := rest.HTTPClientFor(shared.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx(t), method, shared.URL()+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+shared.Config.BearerToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var st metav1.Status
	_ = json.Unmarshal(data, &st)
	return resp.StatusCode, st
}

// TestBadInput: every kind of bad request gets the Kubernetes status code and a
// message that says what is wrong, and nothing is stored.
func TestBadInput(t *testing.T) {
	ns := testNamespace(t, shared)
	base := "/api/v1/namespaces/" + ns
	invalidDeploy := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"Bad_Name"},
		"spec":{"replicas":-1,"selector":{"matchLabels":{"app":"a"}},
		"template":{"metadata":{"labels":{"app":"b"}},"spec":{"containers":[{"name":"c","ports":[{"containerPort":70000}]}]}}}}`
	for _, tc := range []struct {
		name, method, path, ctype, body string
		code                            int
		reason                          metav1.StatusReason
		mention                         []string
	}{
		{"malformed JSON", "POST", base + "/configmaps", "application/json", `{"metadata": {"name": "x"`, 400, metav1.StatusReasonBadRequest, []string{"unexpected end of JSON input"}},
		{"malformed YAML", "POST", base + "/configmaps", "application/yaml", "metadata:\n  name: [x\n", 400, metav1.StatusReasonBadRequest, []string{"YAML"}},
		{"wrong type", "POST", base + "/configmaps", "application/json", `{"metadata":{"name":"x"},"data":{"a":1}}`, 400, metav1.StatusReasonBadRequest, []string{"data"}},
		{"unknown field, strict", "POST", base + "/configmaps?fieldValidation=Strict", "application/json", `{"metadata":{"name":"x"},"dta":{}}`, 400, metav1.StatusReasonBadRequest, []string{`unknown field "dta"`}},
		{"kind mismatch", "POST", base + "/configmaps", "application/json", `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"}}`, 400, metav1.StatusReasonBadRequest, []string{"Secret"}},
		{"invalid object", "POST", "/apis/apps/v1/namespaces/" + ns + "/deployments", "application/json", invalidDeploy, 422, metav1.StatusReasonInvalid,
			[]string{"metadata.name", "spec.replicas", "spec.template.metadata.labels", "spec.template.spec.containers[0].image", "spec.template.spec.containers[0].ports[0].containerPort"}},
		{"invalid service port", "POST", base + "/services", "application/json", `{"metadata":{"name":"s"},"spec":{"ports":[{"port":0}]}}`, 422, metav1.StatusReasonInvalid, []string{"spec.ports[0].port"}},
		{"unknown resource", "GET", base + "/widgets", "", "", 404, metav1.StatusReasonNotFound, nil},
		{"unknown group", "GET", "/apis/example.com/v1/things", "", "", 404, metav1.StatusReasonNotFound, nil},
		{"missing object", "GET", base + "/configmaps/nope", "", "", 404, metav1.StatusReasonNotFound, []string{`configmaps "nope" not found`}},
		{"too large", "POST", base + "/configmaps", "application/json", `{"metadata":{"name":"big"},"data":{"a":"` + strings.Repeat("x", 3<<20) + `"}}`, 413, metav1.StatusReasonRequestEntityTooLarge, nil},
		{"empty body", "POST", base + "/configmaps", "application/json", "", 400, metav1.StatusReasonBadRequest, nil},
		{"name mismatch", "PUT", base + "/configmaps/a", "application/json", `{"metadata":{"name":"b"}}`, 400, metav1.StatusReasonBadRequest, []string{"does not match"}},
		{"unsupported patch", "PATCH", base + "/configmaps/a", "text/plain", `x`, 415, metav1.StatusReasonUnsupportedMediaType, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, st := rawRequest(t, tc.method, tc.path, tc.ctype, []byte(tc.body))
			if code != tc.code || st.Reason != tc.reason {
				t.Fatalf("%s %s: %d %s (%q), want %d %s", tc.method, tc.path, code, st.Reason, st.Message, tc.code, tc.reason)
			}
			for _, m := range tc.mention {
				if !strings.Contains(st.Message, m) {
					t.Errorf("message %q does not mention %q", st.Message, m)
				}
			}
		})
	}
	l, err := shared.Client.CoreV1().ConfigMaps(ns).List(ctx(t), metav1.ListOptions{})
	if err != nil || len(l.Items) != 0 {
		t.Errorf("bad requests stored %d objects (%v)", len(l.Items), err)
	}
}
