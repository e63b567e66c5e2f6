package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/controllers"
	"github.com/berth-dev/berth/internal/testserver"
	"github.com/berth-dev/berth/scheduler"
	"github.com/berth-dev/berth/test/hollow"
)

// fixedNow is the clock of the read commands in tests: the fixtures' own times
// (GitSource sync, Warning events) are set relative to it, so their ages are exact.
var fixedNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// readCluster is a control plane with two hollow nodes and the fixtures the read
// commands are tested on.
type readCluster struct {
	*testserver.Server
	// readonly is the path of the readonly role's kubeconfig.
	readonly string
	ctx      context.Context
}

// startReadCluster starts an API server, the scheduler, the controllers and two
// hollow nodes, creates the fixtures and waits until the workloads are settled.
func startReadCluster(t *testing.T) *readCluster {
	t.Helper()
	ts := testserver.Start(t, apiserver.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	mgr, err := controllers.New(controllers.Options{Config: ts.Config, Logger: quiet, NodeMonitorGracePeriod: time.Hour, PodEvictionTimeout: time.Hour})
	if err != nil {
		t.Fatalf("controllers: %v", err)
	}
	sched, err := scheduler.New(scheduler.Options{Config: ts.Config, Logger: quiet})
	if err != nil {
		t.Fatalf("scheduler: %v", err)
	}
	fleet := hollow.NewFleet(ts.Client)
	for _, run := range []func(context.Context) error{mgr.Run, sched.Run, fleet.Run} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("component stopped: %v", err)
			}
		}()
	}
	for _, name := range []string{"node-a", "node-b"} {
		if _, err := fleet.Add(ctx, hollow.Options{Name: name, RenewInterval: time.Second, LeaseDuration: time.Hour}); err != nil {
			t.Fatalf("add node: %v", err)
		}
	}
	c := &readCluster{Server: ts, readonly: filepath.Join(ts.DataDir, auth.RoleReadonly+".kubeconfig"), ctx: ctx}
	c.createFixtures(t)
	c.waitSettled(t)
	return c
}

// must fails the test on err.
func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// requests are a container's CPU and memory requests.
func requests(cpu, mem string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{Requests: corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem),
	}}
}

// createFixtures creates namespace shop (Deployment web on node-a, DaemonSet agent,
// a completed Job, Service web, ConfigMap settings), namespace tools (a bare pod on
// node-b), a GitSource with a failed sync and drift, and two Warning events (in
// tools and kube-system) at fixed times.
func (c *readCluster) createFixtures(t *testing.T) {
	t.Helper()
	ctx, cl := c.ctx, c.Client
	for _, ns := range []string{"shop", "tools"} {
		_, err := cl.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		must(t, "create namespace", err)
	}
	labels := map[string]string{"app": "web"}
	replicas := int32(2)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeSelector: map[string]string{corev1.LabelHostname: "node-a"},
					Containers: []corev1.Container{{
						Name: "web", Image: "registry.example/web:1.2", Resources: requests("250m", "128Mi"),
						Ports: []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
						Env:   []corev1.EnvVar{{Name: "MODE", Value: "production"}},
					}},
				},
			},
		},
	}
	_, err := cl.AppsV1().Deployments("shop").Create(ctx, dep, metav1.CreateOptions{})
	must(t, "create deployment", err)
	agent := map[string]string{"app": "agent"}
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "shop"},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: agent},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: agent},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "registry.example/agent:3", Resources: requests("100m", "64Mi")}}},
			},
		},
	}
	_, err = cl.AppsV1().DaemonSets("shop").Create(ctx, ds, metav1.CreateOptions{})
	must(t, "create daemonset", err)
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "migrate", Namespace: "shop"},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{hollow.AnnotationPhase: string(corev1.PodSucceeded)}},
			Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever,
				NodeSelector:  map[string]string{corev1.LabelHostname: "node-b"},
				Containers:    []corev1.Container{{Name: "migrate", Image: "registry.example/migrate:1"}},
			},
		}},
	}
	_, err = cl.BatchV1().Jobs("shop").Create(ctx, job, metav1.CreateOptions{})
	must(t, "create job", err)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: corev1.ServiceSpec{
			Selector: labels, ClusterIP: "10.96.0.80",
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
	_, err = cl.CoreV1().Services("shop").Create(ctx, svc, metav1.CreateOptions{})
	must(t, "create service", err)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "shop"}, Data: map[string]string{"color": "blue"}}
	_, err = cl.CoreV1().ConfigMaps("shop").Create(ctx, cm, metav1.CreateOptions{})
	must(t, "create configmap", err)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "debug", Namespace: "tools", Labels: map[string]string{"role": "debug"}},
		Spec: corev1.PodSpec{
			NodeName:   "node-b",
			Containers: []corev1.Container{{Name: "shell", Image: "registry.example/busybox:1", Command: []string{"sleep", "infinity"}, Resources: requests("50m", "16Mi")}},
		},
	}
	_, err = cl.CoreV1().Pods("tools").Create(ctx, pod, metav1.CreateOptions{})
	must(t, "create pod", err)
	c.createGitSource(t)
	for _, e := range []struct {
		name, kind, object, reason, msg string
		ago                             time.Duration
		count                           int32
	}{
		{"web-backoff", "Pod", "web-0", "BackOff", "Back-off restarting failed container web in pod web-0", 2 * time.Minute, 5},
		{"gs-failed", "GitSource", "default", "SyncFailed", "revision 9f1c2ab0 is invalid: 1 error", 30 * time.Second, 1},
	} {
		// Not in shop: the scheduler may record its own Warning there, should it
		// see a pod before the nodes.
		ns := "tools"
		if e.kind == "GitSource" {
			ns = "kube-system"
		}
		ev := &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: e.name, Namespace: ns},
			InvolvedObject: corev1.ObjectReference{Kind: e.kind, Namespace: ns, Name: e.object},
			Type:           corev1.EventTypeWarning, Reason: e.reason, Message: e.msg, Count: e.count,
			FirstTimestamp: metav1.NewTime(fixedNow.Add(-e.ago - time.Minute)), LastTimestamp: metav1.NewTime(fixedNow.Add(-e.ago)),
			Source: corev1.EventSource{Component: "test"},
		}
		_, err := cl.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{})
		must(t, "create event", err)
	}
}

// createGitSource writes GitSource kube-system/default with the status of a sync
// that failed on a broken file, while one object drifted.
func (c *readCluster) createGitSource(t *testing.T) {
	t.Helper()
	dyn, err := dynamic.NewForConfig(c.Config)
	must(t, "dynamic client", err)
	res := dyn.Resource(gitSourcesResource).Namespace("kube-system")
	gs := &berthv1.GitSource{
		TypeMeta:   metav1.TypeMeta{APIVersion: berthv1.SchemeGroupVersion.String(), Kind: "GitSource"},
		ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "kube-system"},
		Spec:       berthv1.GitSourceSpec{URL: "https://git.example/shop.git", Branch: "main", Path: "deploy"},
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(gs)
	must(t, "convert gitsource", err)
	created, err := res.Create(c.ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{})
	must(t, "create gitsource", err)
	synced := metav1.NewTime(fixedNow.Add(-90 * time.Second))
	gs.Status = berthv1.GitSourceStatus{
		ObservedGeneration: 1,
		Revision:           "9f1c2ab0d4e5f60718293a4b5c6d7e8f90a1b2c3", RevisionMessage: "Scale web to 3 replicas",
		AppliedRevision: "4a5b6c7d8e9f00112233445566778899aabbccdd",
		Phase:           "Failed", Health: "Healthy", Message: "revision 9f1c2ab0 is invalid; 4a5b6c7d stays live",
		LastError: "deploy/web.yaml:12: Deployment shop/web: spec.replicas: Invalid value: \"three\": must be an integer\n" +
			"deploy/web.yaml:20: Deployment shop/web: spec.template.spec.containers[0].image: Required value",
		Errors: []string{
			"deploy/web.yaml:12: Deployment shop/web: spec.replicas: Invalid value: \"three\": must be an integer",
			"deploy/web.yaml:20: Deployment shop/web: spec.template.spec.containers[0].image: Required value",
		},
		LastSyncTime: &synced,
		Objects: []berthv1.ManagedObject{
			{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", State: "out-of-sync", Drift: []string{"spec.replicas"}, Health: "Healthy"},
			{APIVersion: "v1", Kind: "Service", Namespace: "shop", Name: "web", State: "unchanged", Health: "Healthy"},
		},
		ObjectCount: 2,
	}
	obj, err = runtime.DefaultUnstructuredConverter.ToUnstructured(gs)
	must(t, "convert gitsource", err)
	u := &unstructured.Unstructured{Object: obj}
	u.SetResourceVersion(created.GetResourceVersion())
	_, err = res.UpdateStatus(c.ctx, u, metav1.UpdateOptions{})
	must(t, "write gitsource status", err)
}

// waitSettled waits until the Deployment, DaemonSet and Job are done and the
// pods run where the fixtures put them.
func (c *readCluster) waitSettled(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		detail, ok := c.settled()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster not settled in 90s: %s", detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// settled says whether the workloads are done, or what is still missing.
func (c *readCluster) settled() (string, bool) {
	ctx, cl := c.ctx, c.Client
	d, err := cl.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	if err != nil || d.Status.ReadyReplicas != 2 || d.Status.UpdatedReplicas != 2 || d.Status.AvailableReplicas != 2 || d.Status.ObservedGeneration < d.Generation {
		return fmt.Sprintf("deployment %v %+v", err, d.Status), false
	}
	ds, err := cl.AppsV1().DaemonSets("shop").Get(ctx, "agent", metav1.GetOptions{})
	if err != nil || ds.Status.DesiredNumberScheduled != 2 || ds.Status.NumberReady != 2 || ds.Status.NumberAvailable != 2 || ds.Status.UpdatedNumberScheduled != 2 {
		return fmt.Sprintf("daemonset %v %+v", err, ds.Status), false
	}
	j, err := cl.BatchV1().Jobs("shop").Get(ctx, "migrate", metav1.GetOptions{})
	if err != nil || j.Status.Succeeded != 1 || j.Status.CompletionTime == nil {
		return fmt.Sprintf("job %v %+v", err, j.Status), false
	}
	p, err := cl.CoreV1().Pods("tools").Get(ctx, "debug", metav1.GetOptions{})
	if err != nil || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
		return fmt.Sprintf("pod %v %+v", err, p.Status), false
	}
	registered, err := cl.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "reason=RegisteredNode"})
	if err != nil || len(registered.Items) != 2 {
		return fmt.Sprintf("RegisteredNode events: %v", err), false
	}
	pods, err := cl.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return err.Error(), false
	}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodPending || p.DeletionTimestamp != nil {
			return "pod " + p.Name + " pending", false
		}
	}
	return "", true
}

// requestLog records every request the read commands make.
type requestLog struct {
	mu   sync.Mutex
	reqs []string // "GET /api/v1/pods"
}

// wrap records requests passing through rt.
func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.Path)
		l.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

// writes returns the requests that were not reads.
func (l *requestLog) writes() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, r := range l.reqs {
		if !strings.HasPrefix(r, "GET ") {
			out = append(out, r)
		}
	}
	return out
}

// count is how many requests were made.
func (l *requestLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.reqs)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// testEnv is the read commands' environment in tests: the fixed clock, no
// terminal, and a log of the requests made.
func testEnv() (*readEnv, *requestLog) {
	log := &requestLog{}
	return &readEnv{
		now:           func() time.Time { return fixedNow },
		isTerminal:    func(io.Writer) bool { return false },
		config:        readonlyConfig,
		wrapTransport: log.wrap,
	}, log
}

// runCommand runs a command built by newCmd with args, returning what it printed.
func runCommand(ctx context.Context, cmd *cobra.Command, args ...string) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	err = cmd.ExecuteContext(ctx)
	return out.String(), errb.String(), err
}

// readonlyClient is a clientset with the readonly kubeconfig, through readonlyConfig.
func (c *readCluster) readonlyClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg, err := readonlyConfig(c.readonly)
	must(t, "readonly config", err)
	cs, err := kubernetes.NewForConfig(cfg)
	must(t, "readonly client", err)
	return cs
}
