package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/internal/testserver"
	"github.com/berth-dev/berth/scheduler"
)

// createNode registers a Ready node with the given allocatable cpu, as a kubelet
// would: the object, then its status.
func createNode(ctx context.Context, t *testing.T, c kubernetes.Interface, name, cpu string) {
	t.Helper()
	n, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	res := corev1.ResourceList{
		corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("8Gi"),
		corev1.ResourcePods: resource.MustParse("110"),
	}
	n.Status = corev1.NodeStatus{Capacity: res, Allocatable: res, Conditions: []corev1.NodeCondition{{
		Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
		LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now(),
	}}}
	if _, err := c.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("node %s status: %v", name, err)
	}
}

// createPod creates a pending pod requesting cpu.
func createPod(ctx context.Context, t *testing.T, c kubernetes.Interface, name, cpu string, mutate ...func(*corev1.Pod)) {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "example.com/app:1",
			Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse("64Mi"),
			}}}}},
	}
	for _, m := range mutate {
		m(p)
	}
	if _, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
}

// eventually polls cond every 50ms for up to a minute.
func eventually(ctx context.Context, t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// runScheduler runs a scheduler until the test ends.
func runScheduler(t *testing.T, ts *testserver.Server) {
	t.Helper()
	s, err := scheduler.New(scheduler.Options{
		Config: ts.Config, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PodInitialBackoff: 200 * time.Millisecond, PodMaxBackoff: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

// TestScheduler runs the scheduler against a real API server: replicas are bound
// and spread, a pod too big for every node is reported unschedulable with the
// reasons, and goes to a node that fits as soon as one is added.
func TestScheduler(t *testing.T) {
	ts := testserver.Start(t, apiserver.Options{})
	ctx := t.Context()
	c := ts.Client
	for _, n := range []string{"node-a", "node-b", "node-c"} {
		createNode(ctx, t, c, n, "4")
	}
	runScheduler(t, ts)

	yes := true
	owner := metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "rs-web", Controller: &yes}
	for i := range 9 {
		createPod(ctx, t, c, fmt.Sprintf("web-%d", i), "500m", func(p *corev1.Pod) { p.OwnerReferences = []metav1.OwnerReference{owner} })
	}
	createPod(ctx, t, c, "other", "100m", func(p *corev1.Pod) { p.Spec.SchedulerName = "other-scheduler" })

	perNode := map[string]int{}
	eventually(ctx, t, "replicas bound", func(ctx context.Context) (bool, error) {
		pods, err := c.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		clear(perNode)
		for _, p := range pods.Items {
			if p.Name != "other" && p.Spec.NodeName != "" {
				perNode[p.Spec.NodeName]++
			}
		}
		return perNode["node-a"]+perNode["node-b"]+perNode["node-c"] == 9, nil
	})
	for _, n := range []string{"node-a", "node-b", "node-c"} {
		if perNode[n] != 3 {
			t.Errorf("replicas per node %v, want 3 on each", perNode)
			break
		}
	}
	eventually(ctx, t, "Scheduled event", func(ctx context.Context) (bool, error) {
		return hasEvent(ctx, c, "web-0", corev1.EventTypeNormal, "Scheduled", "Successfully assigned default/web-0 to ")
	})

	createPod(ctx, t, c, "big", "6")
	want := "0/3 nodes are available: 3 Insufficient cpu."
	eventually(ctx, t, "PodScheduled=False on the big pod", func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, "big", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled {
				if cond.Status != corev1.ConditionFalse || cond.Reason != corev1.PodReasonUnschedulable || cond.Message != want {
					return false, fmt.Errorf("condition %+v, want False, Unschedulable, %q", cond, want)
				}
				return true, nil
			}
		}
		return false, nil
	})
	eventually(ctx, t, "FailedScheduling event", func(ctx context.Context) (bool, error) {
		return hasEvent(ctx, c, "big", corev1.EventTypeWarning, "FailedScheduling", want)
	})

	createNode(ctx, t, c, "node-big", "8")
	eventually(ctx, t, "big pod bound to the new node", func(ctx context.Context) (bool, error) {
		p, err := c.CoreV1().Pods("default").Get(ctx, "big", metav1.GetOptions{})
		if err != nil || p.Spec.NodeName == "" {
			return false, err
		}
		if p.Spec.NodeName != "node-big" {
			return false, fmt.Errorf("big pod bound to %s, want node-big", p.Spec.NodeName)
		}
		return true, nil
	})

	if p, err := c.CoreV1().Pods("default").Get(ctx, "other", metav1.GetOptions{}); err != nil || p.Spec.NodeName != "" {
		t.Errorf("the other scheduler's pod: %v, bound to %q; want it left alone", err, p.Spec.NodeName)
	}
}

// hasEvent says whether the pod has an event of that type and reason whose
// message starts with msg.
func hasEvent(ctx context.Context, c kubernetes.Interface, pod, typ, reason, msg string) (bool, error) {
	evs, err := c.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		return false, err
	}
	for _, e := range evs.Items {
		if e.InvolvedObject.Name == pod && e.Type == typ && e.Reason == reason && len(e.Message) >= len(msg) && e.Message[:len(msg)] == msg {
			if e.Source.Component != corev1.DefaultSchedulerName {
				return false, fmt.Errorf("event from %q, want %s", e.Source.Component, corev1.DefaultSchedulerName)
			}
			return true, nil
		}
	}
	return false, nil
}
