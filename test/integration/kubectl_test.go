package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// kubectlTimeout bounds one kubectl run.
const kubectlTimeout = 45 * time.Second

// appManifest is what a user would keep in Git for a small app: one object of each
// kind `kubectl create -f` is most often used with.
const appManifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80, name: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {message: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: web-secret}
stringData: {password: s3cret}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: once, image: busybox:1.36, command: [/bin/true]}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-0, labels: {app: web}}
spec:
  containers:
  - name: web
    image: nginx:1.27
`

// moreManifest holds the kinds appManifest lacks; $NS and $NODE are replaced
// with the test's namespace and a node name of its own.
const moreManifest = `apiVersion: v1
kind: Node
metadata: {name: $NODE, labels: {kubernetes.io/hostname: $NODE}}
spec: {}
---
apiVersion: v1
kind: Event
metadata: {name: web-0.started}
involvedObject: {kind: Pod, name: web-0, apiVersion: v1, namespace: $NS}
reason: Started
message: Started container web
type: Normal
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-rs}
spec:
  replicas: 1
  selector: {matchLabels: {app: web-rs}}
  template:
    metadata: {labels: {app: web-rs}}
    spec:
      containers: [{name: web, image: nginx:1.27}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers: [{name: agent, image: agent:1}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-abc, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
endpoints:
- addresses: [10.42.0.5]
  conditions: {ready: true}
ports: [{name: http, port: 8080, protocol: TCP}]
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: $NODE}
spec: {holderIdentity: $NODE, leaseDurationSeconds: 40}
---
apiVersion: berth.dev/v1alpha1
kind: GitSource
metadata: {name: default}
spec: {url: "file:///srv/git/app.git", path: deploy}
`

// kubectlPath returns the kubectl on PATH, or skips the test without one (fails it
// with CI=true, where .ci/run has installed it).
func kubectlPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("kubectl not installed; .ci/run installs it (CI=true, so not skipping)")
		}
		t.Skip("kubectl not installed; .ci/run installs it")
	}
	return path
}

// kubectlArgs are the flags every run gets: the role's kubeconfig, and a discovery
// cache inside the shared server's data dir (removed with it, never ~/.kube).
func kubectlArgs(role string, args []string) []string {
	return append([]string{
		"--kubeconfig", shared.KubeconfigPath(role),
		"--cache-dir", filepath.Join(shared.DataDir, "kubectl-cache"),
	}, args...)
}

// kubectl runs kubectl as role against the shared server and returns its stdout,
// stderr and exit error.
func kubectl(t *testing.T, role string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin := kubectlPath(t)
	c, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	cmd := exec.CommandContext(c, bin, kubectlArgs(role, args)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if c.Err() != nil {
		err = fmt.Errorf("timed out after %s: %w", kubectlTimeout, err)
	}
	return out.String(), errOut.String(), err
}

// mustKubectl runs kubectl as admin and fails the test if it fails.
func mustKubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := kubectl(t, "admin", args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// writeKubectlManifest writes a manifest into a fresh temp dir and returns its path.
func writeKubectlManifest(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// kubectlColumnRE finds a column header: words separated by single spaces ("NOMINATED NODE").
var kubectlColumnRE = regexp.MustCompile(`\S+(?: \S+)*`)

// kubectlTable is one `kubectl get` table: its header names and its rows, cut at the
// header's column offsets (kubectl left-aligns cells under their headers, so an
// empty cell stays empty).
type kubectlTable struct {
	header []string
	rows   []map[string]string
}

// parseKubectlTable parses the first table in kubectl's output.
func parseKubectlTable(t *testing.T, out string) kubectlTable {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("no table in output %q", out)
	}
	var tab kubectlTable
	idx := kubectlColumnRE.FindAllStringIndex(lines[0], -1)
	for _, m := range idx {
		tab.header = append(tab.header, lines[0][m[0]:m[1]])
	}
	for _, line := range lines[1:] {
		if line == "" {
			break
		}
		row := map[string]string{}
		for i, m := range idx {
			start, end := m[0], len(line)
			if i+1 < len(idx) {
				end = idx[i+1][0]
			}
			if start > len(line) {
				start = len(line)
			}
			if end > len(line) {
				end = len(line)
			}
			row[tab.header[i]] = strings.TrimSpace(line[start:end])
		}
		tab.rows = append(tab.rows, row)
	}
	return tab
}

// row returns the row whose column col is val.
func (tab kubectlTable) row(col, val string) (map[string]string, bool) {
	for _, r := range tab.rows {
		if r[col] == val {
			return r, true
		}
	}
	return nil, false
}

// TestKubectlCreateThenApply proves a multi-document manifest of the common kinds
// can be created with `kubectl create -f`, then re-applied with `kubectl apply -f`
// (which patches in the last-applied annotation), and that a further apply finds
// nothing to change: the server's defaults do not drift between requests.
func TestKubectlCreateThenApply(t *testing.T) {
	kubectlPath(t)
	ns := testNamespace(t, shared)
	file := writeKubectlManifest(t, "app.yaml", appManifest)
	objects := []string{"deployment.apps/web", "service/web", "configmap/web-config", "secret/web-secret",
		"serviceaccount/web", "job.batch/once", "pod/web-0"}

	out := mustKubectl(t, "create", "-n", ns, "-f", file)
	for _, o := range objects {
		if !strings.Contains(out, o+" created\n") {
			t.Errorf("kubectl create output lacks %q:\n%s", o+" created", out)
		}
	}

	out = mustKubectl(t, "apply", "-n", ns, "-f", file)
	for _, o := range objects {
		if !strings.Contains(out, o+" configured\n") && !strings.Contains(out, o+" unchanged\n") {
			t.Errorf("kubectl apply output does not name %s:\n%s", o, out)
		}
	}
	cm, err := shared.Client.CoreV1().ConfigMaps(ns).Get(ctx(t), "web-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cm.Annotations[corev1.LastAppliedConfigAnnotation] == "" {
		t.Errorf("apply did not record %s on the ConfigMap: %v", corev1.LastAppliedConfigAnnotation, cm.Annotations)
	}

	out = mustKubectl(t, "apply", "-n", ns, "-f", file)
	for _, o := range objects {
		// A Secret written with stringData reads back as data, so client-side apply
		// patches it every time, on Kubernetes too (kubernetes/kubernetes#87736).
		if o == "secret/web-secret" {
			continue
		}
		if !strings.Contains(out, o+" unchanged\n") {
			t.Errorf("second apply of the same file changed %s:\n%s", o, out)
		}
	}
}

// TestKubectlGetColumns proves `kubectl get KIND` prints, for every kind served,
// the column headers real Kubernetes prints for it, that `-o wide` adds the IP and
// NODE columns for pods, and that short names (po, svc, deploy, cm, ...) work.
func TestKubectlGetColumns(t *testing.T) {
	kubectlPath(t)
	ns := testNamespace(t, shared)
	node := "kubectl-" + ns
	t.Cleanup(func() {
		_ = shared.Client.CoreV1().Nodes().Delete(context.Background(), node, metav1.DeleteOptions{})
	})
	mustKubectl(t, "create", "-n", ns, "-f", writeKubectlManifest(t, "app.yaml", appManifest))
	more := strings.NewReplacer("$NS", ns, "$NODE", node).Replace(moreManifest)
	mustKubectl(t, "create", "-n", ns, "-f", writeKubectlManifest(t, "more.yaml", more))

	for _, tc := range []struct {
		resource string
		header   string
		// nameCol and name: a row whose nameCol column is name must be listed.
		nameCol, name string
	}{
		{"pods", "NAME READY STATUS RESTARTS AGE", "NAME", "web-0"},
		{"services", "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE", "NAME", "web"},
		{"configmaps", "NAME DATA AGE", "NAME", "web-config"},
		{"secrets", "NAME TYPE DATA AGE", "NAME", "web-secret"},
		{"serviceaccounts", "NAME SECRETS AGE", "NAME", "web"},
		{"nodes", "NAME STATUS ROLES AGE VERSION", "NAME", node},
		{"events", "LAST SEEN TYPE REASON OBJECT MESSAGE", "OBJECT", "pod/web-0"},
		{"deployments", "NAME READY UP-TO-DATE AVAILABLE AGE", "NAME", "web"},
		{"replicasets", "NAME DESIRED CURRENT READY AGE", "NAME", "web-rs"},
		{"daemonsets", "NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE", "NAME", "agent"},
		{"jobs", "NAME STATUS COMPLETIONS DURATION AGE", "NAME", "once"},
		{"endpointslices", "NAME ADDRESSTYPE PORTS ENDPOINTS AGE", "NAME", "web-abc"},
		{"leases", "NAME HOLDER AGE", "NAME", node},
		{"gitsources", "NAME URL REVISION PHASE AGE", "NAME", "default"},
		{"namespaces", "NAME STATUS AGE", "NAME", ns},
	} {
		t.Run(tc.resource, func(t *testing.T) {
			out := mustKubectl(t, "get", "-n", ns, tc.resource)
			tab := parseKubectlTable(t, out)
			if got := strings.Join(tab.header, " "); got != tc.header {
				t.Errorf("kubectl get %s header:\n got: %s\nwant: %s\noutput:\n%s", tc.resource, got, tc.header, out)
			}
			if _, ok := tab.row(tc.nameCol, tc.name); !ok {
				t.Errorf("kubectl get %s lists no %s %q:\n%s", tc.resource, tc.nameCol, tc.name, out)
			}
		})
	}

	t.Run("service row", func(t *testing.T) {
		svc, err := shared.Client.CoreV1().Services(ns).Get(ctx(t), "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		r, _ := parseKubectlTable(t, mustKubectl(t, "get", "-n", ns, "service", "web")).row("NAME", "web")
		want := map[string]string{"TYPE": "NodePort", "CLUSTER-IP": svc.Spec.ClusterIP, "EXTERNAL-IP": "<none>",
			"PORT(S)": fmt.Sprintf("80:%d/TCP", svc.Spec.Ports[0].NodePort)}
		for col, v := range want {
			if r[col] != v {
				t.Errorf("service row %s = %q, want %q (row %v)", col, r[col], v, r)
			}
		}
	})

	t.Run("pods wide", func(t *testing.T) {
		c := ctx(t)
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "wide-0"},
			Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}},
		}
		pod, err := shared.Client.CoreV1().Pods(ns).Create(c, pod, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pod.Status.PodIP, pod.Status.PodIPs = "10.42.7.9", []corev1.PodIP{{IP: "10.42.7.9"}}
		if _, err := shared.Client.CoreV1().Pods(ns).UpdateStatus(c, pod, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		out := mustKubectl(t, "get", "-n", ns, "pods", "-o", "wide")
		tab := parseKubectlTable(t, out)
		want := "NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES"
		if got := strings.Join(tab.header, " "); got != want {
			t.Errorf("kubectl get pods -o wide header:\n got: %s\nwant: %s", got, want)
		}
		r, ok := tab.row("NAME", "wide-0")
		if !ok || r["IP"] != "10.42.7.9" || r["NODE"] != node {
			t.Errorf("pod wide-0: IP %q NODE %q, want 10.42.7.9 and %s:\n%s", r["IP"], r["NODE"], node, out)
		}
		if r, _ := tab.row("NAME", "web-0"); r["IP"] != "<none>" || r["NODE"] != "<none>" {
			t.Errorf("unscheduled pod web-0: IP %q NODE %q, want <none>:\n%s", r["IP"], r["NODE"], out)
		}
	})

	t.Run("short names", func(t *testing.T) {
		out := mustKubectl(t, "get", "-n", ns, "po,svc,deploy,cm")
		for _, want := range []string{"pod/web-0", "service/web", "deployment.apps/web", "configmap/web-config"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl get po,svc,deploy,cm lacks %s:\n%s", want, out)
			}
		}
		out = mustKubectl(t, "get", "-n", ns, "sa,rs,ds,ev,gs")
		// Events have no name column by default (Kubernetes prints it only with -o wide).
		for _, want := range []string{"serviceaccount/web", "replicaset.apps/web-rs", "daemonset.apps/agent",
			"Started container web", "gitsource.berth.dev/default"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl get sa,rs,ds,ev,gs lacks %s:\n%s", want, out)
			}
		}
		out = mustKubectl(t, "get", "no,ns")
		for _, want := range []string{"node/" + node, "namespace/" + ns} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl get no,ns lacks %s:\n%s", want, out)
			}
		}
	})
}

// TestKubectlGetYAML proves `kubectl get deploy NAME -o yaml` prints the stored
// object with the server's defaults filled in, and its uid and resourceVersion.
func TestKubectlGetYAML(t *testing.T) {
	kubectlPath(t)
	ns := testNamespace(t, shared)
	labels := map[string]string{"app": "plain"}
	created, err := shared.Client.AppsV1().Deployments(ns).Create(ctx(t), &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "plain"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx:1.27"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	out := mustKubectl(t, "get", "-n", ns, "deploy", "plain", "-o", "yaml")
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict([]byte(out), &d); err != nil {
		t.Fatalf("parse kubectl -o yaml: %v\n%s", err, out)
	}
	if d.APIVersion != "apps/v1" || d.Kind != "Deployment" {
		t.Errorf("apiVersion/kind = %s/%s, want apps/v1/Deployment", d.APIVersion, d.Kind)
	}
	if d.UID == "" || d.UID != created.UID {
		t.Errorf("uid %q, want %q", d.UID, created.UID)
	}
	if d.ResourceVersion == "" || d.ResourceVersion != created.ResourceVersion {
		t.Errorf("resourceVersion %q, want %q", d.ResourceVersion, created.ResourceVersion)
	}
	if d.Generation != 1 || d.CreationTimestamp.IsZero() {
		t.Errorf("generation %d, creationTimestamp %v: want 1 and set", d.Generation, d.CreationTimestamp)
	}
	quarter := intstr.FromString("25%")
	s := d.Spec
	switch {
	case s.Replicas == nil || *s.Replicas != 1:
		t.Errorf("spec.replicas = %v, want the default 1", s.Replicas)
	case s.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType:
		t.Errorf("spec.strategy.type = %q, want RollingUpdate", s.Strategy.Type)
	case s.Strategy.RollingUpdate == nil || *s.Strategy.RollingUpdate.MaxSurge != quarter || *s.Strategy.RollingUpdate.MaxUnavailable != quarter:
		t.Errorf("spec.strategy.rollingUpdate = %+v, want 25%% max surge and unavailable", s.Strategy.RollingUpdate)
	case s.RevisionHistoryLimit == nil || *s.RevisionHistoryLimit != 10:
		t.Errorf("spec.revisionHistoryLimit = %v, want 10", s.RevisionHistoryLimit)
	case s.ProgressDeadlineSeconds == nil || *s.ProgressDeadlineSeconds != 600:
		t.Errorf("spec.progressDeadlineSeconds = %v, want 600", s.ProgressDeadlineSeconds)
	}
	ps := s.Template.Spec
	if ps.RestartPolicy != corev1.RestartPolicyAlways || ps.DNSPolicy != corev1.DNSClusterFirst ||
		ps.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent || ps.Containers[0].TerminationMessagePath != "/dev/termination-log" {
		t.Errorf("pod template lacks defaults (restartPolicy, dnsPolicy, imagePullPolicy, terminationMessagePath):\n%s", out)
	}
}

// kubectlOutput collects a child's output while the test reads it.
type kubectlOutput struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *kubectlOutput) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *kubectlOutput) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// countKubectlLines counts the lines of out that start with prefix.
func countKubectlLines(out, prefix string) int {
	n := 0
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}

// TestKubectlGetPodsWatch proves `kubectl get pods -w` prints changes made after it
// started: a label added to a listed pod and a newly created pod each print a line.
func TestKubectlGetPodsWatch(t *testing.T) {
	bin := kubectlPath(t)
	ns := testNamespace(t, shared)
	pods := shared.Client.CoreV1().Pods(ns)
	newPod := func(name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "nginx:1.27"}}}}
	}
	if _, err := pods.Create(ctx(t), newPod("first"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	wctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(wctx, bin, kubectlArgs("admin", []string{"get", "-n", ns, "pods", "-w"})...)
	var stdout, stderr kubectlOutput
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() { cancel(); <-exited }()

	waitFor := func(what string, cond func(out string) bool) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for !cond(stdout.String()) {
			select {
			case <-exited:
				t.Fatalf("kubectl get -w exited before %s\nstdout:\n%s\nstderr:\n%s", what, stdout.String(), stderr.String())
			case <-deadline:
				t.Fatalf("kubectl get -w did not show %s in 30s\nstdout:\n%s\nstderr:\n%s", what, stdout.String(), stderr.String())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	waitFor("the pod listed at start", func(out string) bool { return countKubectlLines(out, "first ") >= 1 })

	if _, err := pods.Create(ctx(t), newPod("second"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the pod created after it started", func(out string) bool { return countKubectlLines(out, "second ") >= 1 })

	patch := []byte(`{"metadata":{"labels":{"watched":"yes"}}}`)
	if _, err := pods.Patch(ctx(t), "first", "application/merge-patch+json", patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("the label added to the first pod", func(out string) bool { return countKubectlLines(out, "first ") >= 2 })
	if strings.Count(stdout.String(), "NAME ") != 1 {
		t.Errorf("kubectl get -w printed its header more than once:\n%s", stdout.String())
	}
}

// TestKubectlDescribe proves `kubectl describe` works for a Deployment, a Pod and a
// Service, and that describing a pod lists the Events recorded about it.
func TestKubectlDescribe(t *testing.T) {
	kubectlPath(t)
	ns := testNamespace(t, shared)
	mustKubectl(t, "create", "-n", ns, "-f", writeKubectlManifest(t, "app.yaml", appManifest))
	pod, err := shared.Client.CoreV1().Pods(ns).Get(ctx(t), "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	_, err = shared.Client.CoreV1().Events(ns).Create(ctx(t), &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0.pulled"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: ns, Name: "web-0",
			UID: pod.UID, FieldPath: "spec.containers{web}"},
		Reason: "Pulled", Message: "Successfully pulled image nginx:1.27", Type: corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "kubelet", Host: "node-a"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		kind, name string
		want       []string // regexps, multi-line mode
	}{
		{"deployment", "web", []string{`^Replicas:\s+2 desired`, `^StrategyType:\s+RollingUpdate$`, `^Selector:\s+app=web$`}},
		{"pod", "web-0", []string{`^Status:\s+Pending$`, `^Labels:\s+app=web$`,
			`(?s)^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n.*\n\s+Normal\s+Pulled\s+\S+\s+kubelet\s+Successfully pulled image nginx:1\.27$`}},
		{"svc", "web", []string{`^Type:\s+NodePort$`, `^NodePort:\s+<unset>\s+3\d{4}/TCP$`}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			out := mustKubectl(t, "describe", "-n", ns, tc.kind, tc.name)
			want := append([]string{`^Name:\s+` + regexp.QuoteMeta(tc.name) + `$`, `^Namespace:\s+` + ns + `$`}, tc.want...)
			for _, re := range want {
				if !regexp.MustCompile(`(?m)` + re).MatchString(out) {
					t.Errorf("kubectl describe %s %s: no match for %s in:\n%s", tc.kind, tc.name, re, out)
				}
			}
		})
	}
}

// TestKubectlReadonlyForbidden proves the readonly kubeconfig can read but that
// every write kubectl attempts with it (delete, create, apply, label) is refused
// with a 403 worded as Kubernetes words it, and changes nothing.
func TestKubectlReadonlyForbidden(t *testing.T) {
	kubectlPath(t)
	ns := testNamespace(t, shared)
	mustKubectl(t, "create", "-n", ns, "-f", writeKubectlManifest(t, "app.yaml", appManifest))
	c := ctx(t)
	podBefore, err := shared.Client.CoreV1().Pods(ns).Get(c, "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cmBefore, err := shared.Client.CoreV1().ConfigMaps(ns).Get(c, "web-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}

	out, errOut, err := kubectl(t, "readonly", "get", "-n", ns, "pods")
	if err != nil {
		t.Fatalf("readonly kubectl get pods: %v\n%s", err, errOut)
	}
	if _, ok := parseKubectlTable(t, out).row("NAME", "web-0"); !ok {
		t.Errorf("readonly kubectl get pods does not list web-0:\n%s", out)
	}

	changed := `apiVersion: v1
kind: ConfigMap
metadata: {name: web-config}
data: {message: changed}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: brand-new}
data: {a: b}
`
	forbidden := func(verb, resource string) string {
		return fmt.Sprintf(`User "berth-readonly" cannot %s resource "%s" in API group "" in the namespace "%s"`, verb, resource, ns)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"delete", []string{"delete", "pod", "web-0"}, []string{forbidden("delete", "pods")}},
		{"create", []string{"create", "configmap", "x", "--from-literal=a=b"}, []string{forbidden("create", "configmaps")}},
		{"apply", []string{"apply", "-f", writeKubectlManifest(t, "changed.yaml", changed)},
			[]string{forbidden("patch", "configmaps"), forbidden("create", "configmaps")}},
		{"label", []string{"label", "pod", "web-0", "a=b"}, []string{forbidden("patch", "pods")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := kubectl(t, "readonly", append([]string{"-n", ns}, tc.args...)...)
			if err == nil {
				t.Fatalf("readonly kubectl %s succeeded:\n%s", strings.Join(tc.args, " "), out)
			}
			if !strings.Contains(strings.ToLower(errOut), "forbidden") {
				t.Errorf("readonly kubectl %s: stderr does not say Forbidden:\n%s", tc.name, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("readonly kubectl %s: stderr lacks %q:\n%s", tc.name, w, errOut)
				}
			}
		})
	}

	podAfter, err := shared.Client.CoreV1().Pods(ns).Get(c, "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("pod after readonly writes: %v", err)
	}
	if podAfter.ResourceVersion != podBefore.ResourceVersion || podAfter.Labels["a"] != "" {
		t.Errorf("readonly writes changed the pod: resourceVersion %s -> %s, labels %v",
			podBefore.ResourceVersion, podAfter.ResourceVersion, podAfter.Labels)
	}
	cmAfter, err := shared.Client.CoreV1().ConfigMaps(ns).Get(c, "web-config", metav1.GetOptions{})
	if err != nil || cmAfter.ResourceVersion != cmBefore.ResourceVersion || cmAfter.Data["message"] != "hello" {
		t.Errorf("readonly apply changed the ConfigMap: %v, data %v", err, cmAfter.Data)
	}
	for _, name := range []string{"x", "brand-new"} {
		if _, err := shared.Client.CoreV1().ConfigMaps(ns).Get(c, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("ConfigMap %s after a forbidden create: %v, want 404", name, err)
		}
	}
}

// TestKubectlCreateInvalid proves `kubectl create -f` of an invalid object fails with
// the server's 422 message naming the offending field, and creates nothing.
func TestKubectlCreateInvalid(t *testing.T) {
	kubectlPath(t)
	ns := testNamespace(t, shared)
	for _, tc := range []struct {
		name, manifest string
		want           []string
	}{
		{"selector mismatch", `apiVersion: apps/v1
kind: Deployment
metadata: {name: bad-selector}
spec:
  selector: {matchLabels: {app: one}}
  template:
    metadata: {labels: {app: two}}
    spec:
      containers: [{name: web, image: nginx:1.27}]
`, []string{`The Deployment "bad-selector" is invalid:`, "spec.template.metadata.labels: Invalid value:",
			"`selector` does not match template `labels`"}},
		{"deployment without image", `apiVersion: apps/v1
kind: Deployment
metadata: {name: no-image}
spec:
  selector: {matchLabels: {app: one}}
  template:
    metadata: {labels: {app: one}}
    spec:
      containers: [{name: web}]
`, []string{`The Deployment "no-image" is invalid:`, "spec.template.spec.containers[0].image: Required value"}},
		{"pod without image", `apiVersion: v1
kind: Pod
metadata: {name: no-image}
spec:
  containers: [{name: web}]
`, []string{`The Pod "no-image" is invalid:`, "spec.containers[0].image: Required value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := writeKubectlManifest(t, "bad.yaml", tc.manifest)
			out, errOut, err := kubectl(t, "admin", "create", "-n", ns, "-f", file)
			if err == nil {
				t.Fatalf("kubectl create of an invalid object succeeded:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
	c := ctx(t)
	if _, err := shared.Client.AppsV1().Deployments(ns).Get(c, "bad-selector", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("invalid Deployment bad-selector: %v, want 404", err)
	}
	if _, err := shared.Client.CoreV1().Pods(ns).Get(c, "no-image", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("invalid Pod no-image: %v, want 404", err)
	}
}
