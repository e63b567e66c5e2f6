package cluster

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/berth-dev/berth/test/hollow"
)

// webPod is a bare pod of the "web" Service serving "http" on port.
func webPod(ns, name string, port int32) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "web", Image: "web",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port}},
		}}},
	}
}

// webService selects app=web: port 80 to the named port "http", 9090 to 9090.
func webService(ns string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http")},
				{Name: "metrics", Port: 9090},
			},
		},
	}
}

// sliceEndpoint is an endpoint as a test looks at it.
type sliceEndpoint struct {
	slice                       string
	ready, serving, terminating bool
	httpPort                    int32
	node                        string
}

// serviceEndpoints reads the Service's managed slices: their endpoints by pod
// name, the slices' sizes, and a complaint if a pod is in two slices or a slice
// lacks its labels and owner.
func (c *cluster) serviceEndpoints(t *testing.T, ns, svc string) (map[string]sliceEndpoint, []int, string) {
	t.Helper()
	list, err := c.Client.DiscoveryV1().EndpointSlices(ns).List(testCtx(t), metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + svc,
	})
	if err != nil {
		t.Fatalf("list endpointslices: %v", err)
	}
	out := map[string]sliceEndpoint{}
	var sizes []int
	var problem string
	for _, s := range list.Items {
		if s.Labels[discoveryv1.LabelManagedBy] != "endpointslice-controller.k8s.io" || s.AddressType != discoveryv1.AddressTypeIPv4 ||
			len(s.OwnerReferences) != 1 || s.OwnerReferences[0].Kind != "Service" || s.OwnerReferences[0].Name != svc {
			problem = fmt.Sprintf("slice %s: labels %v addressType %s owners %v", s.Name, s.Labels, s.AddressType, s.OwnerReferences)
		}
		sizes = append(sizes, len(s.Endpoints))
		var http int32
		for _, p := range s.Ports {
			if p.Name != nil && *p.Name == "http" && p.Port != nil {
				http = *p.Port
			}
		}
		for _, ep := range s.Endpoints {
			if ep.TargetRef == nil {
				problem = fmt.Sprintf("slice %s: an endpoint without targetRef", s.Name)
				continue
			}
			if prev, dup := out[ep.TargetRef.Name]; dup {
				problem = fmt.Sprintf("pod %s in slices %s and %s", ep.TargetRef.Name, prev.slice, s.Name)
			}
			e := sliceEndpoint{slice: s.Name, httpPort: http}
			e.ready = ep.Conditions.Ready != nil && *ep.Conditions.Ready
			e.serving = ep.Conditions.Serving != nil && *ep.Conditions.Serving
			e.terminating = ep.Conditions.Terminating != nil && *ep.Conditions.Terminating
			if ep.NodeName != nil {
				e.node = *ep.NodeName
			}
			out[ep.TargetRef.Name] = e
		}
	}
	sort.Ints(sizes)
	return out, sizes, problem
}

// setReadyAnnotation patches the hollow readiness annotation of a pod.
func (c *cluster) setReadyAnnotation(t *testing.T, ns, pod, value string) {
	t.Helper()
	patch := fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`, hollow.AnnotationReady, value)
	if _, err := c.Client.CoreV1().Pods(ns).Patch(testCtx(t), pod, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("patch pod %s: %v", pod, err)
	}
}

func TestEndpointSliceFollowsPods(t *testing.T) {
	t.Parallel()
	c := startCluster(t, steadyNodes)
	c.addNode(t, hollow.Options{Name: "node-a", Labels: map[string]string{corev1.LabelTopologyZone: "zone-a"}})
	c.addNode(t, hollow.Options{Name: "node-b"})
	ns := c.namespace(t)
	for i := range 3 {
		if _, err := c.Client.CoreV1().Pods(ns).Create(testCtx(t), webPod(ns, fmt.Sprintf("web-%d", i), 8080), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Client.CoreV1().Services(ns).Create(testCtx(t), webService(ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEndpoints := func(what string, cond func(map[string]sliceEndpoint) bool) {
		t.Helper()
		eventually(t, 30*time.Second, what, func() (bool, string) {
			eps, sizes, problem := c.serviceEndpoints(t, ns, "web")
			if problem != "" {
				return false, problem
			}
			var ps []string
			for _, p := range c.podsOf(t, ns, "app=web") {
				ps = append(ps, fmt.Sprintf("%s %s %s ready=%v del=%v", p.Name, p.Status.Phase, p.Status.PodIP, podReady(&p), p.DeletionTimestamp != nil))
			}
			return cond(eps), fmt.Sprintf("endpoints %+v in slices of %v; pods %v", eps, sizes, ps)
		})
	}
	allReady := func(names ...string) func(map[string]sliceEndpoint) bool {
		return func(eps map[string]sliceEndpoint) bool {
			if len(eps) != len(names) {
				return false
			}
			for _, n := range names {
				if e, ok := eps[n]; !ok || !e.ready || !e.serving || e.terminating || e.node == "" {
					return false
				}
			}
			return true
		}
	}
	waitEndpoints("three ready endpoints", allReady("web-0", "web-1", "web-2"))
	eps, _, _ := c.serviceEndpoints(t, ns, "web")
	if eps["web-0"].httpPort != 8080 {
		t.Errorf("http port %d, want the named port resolved to 8080", eps["web-0"].httpPort)
	}

	// Readiness is followed both ways.
	c.setReadyAnnotation(t, ns, "web-0", "false")
	waitEndpoints("web-0 not ready", func(eps map[string]sliceEndpoint) bool {
		e := eps["web-0"]
		return len(eps) == 3 && !e.ready && !e.serving && !e.terminating && eps["web-1"].ready
	})
	c.setReadyAnnotation(t, ns, "web-0", "true")
	waitEndpoints("web-0 ready again", allReady("web-0", "web-1", "web-2"))

	// A pod whose "http" is another port is in a slice of its own.
	if _, err := c.Client.CoreV1().Pods(ns).Create(testCtx(t), webPod(ns, "web-alt", 9000), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEndpoints("web-alt with http on 9000", func(eps map[string]sliceEndpoint) bool {
		alt, zero := eps["web-alt"], eps["web-0"]
		return len(eps) == 4 && alt.ready && alt.httpPort == 9000 && zero.httpPort == 8080 && alt.slice != zero.slice
	})

	// A deleted pod leaves the slice.
	if err := c.Client.CoreV1().Pods(ns).Delete(testCtx(t), "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitEndpoints("web-1 gone", func(eps map[string]sliceEndpoint) bool {
		_, there := eps["web-1"]
		return !there && len(eps) == 3
	})

	// The slices go with their Service.
	if err := c.Client.CoreV1().Services(ns).Delete(testCtx(t), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the slices to be deleted", func() (bool, string) {
		list, err := c.Client.DiscoveryV1().EndpointSlices(ns).List(testCtx(t), metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(list.Items) == 0, fmt.Sprintf("%d slices", len(list.Items))
	})
}

func TestEndpointSliceTerminatingPod(t *testing.T) {
	t.Parallel()
	// The node goes silent below: it must not be declared lost during the test.
	c := startCluster(t, steadyNodes)
	node := c.addNode(t, hollow.Options{Name: "node-a"})
	ns := c.namespace(t)
	if _, err := c.Client.CoreV1().Services(ns).Create(testCtx(t), webService(ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.CoreV1().Pods(ns).Create(testCtx(t), webPod(ns, "web-0", 8080), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "a ready endpoint", func() (bool, string) {
		eps, _, _ := c.serviceEndpoints(t, ns, "web")
		return eps["web-0"].ready, fmt.Sprintf("%+v", eps)
	})
	// A silent kubelet never finishes the deletion: the pod stays terminating.
	node.Stop()
	t.Cleanup(node.Resume)
	if err := c.Client.CoreV1().Pods(ns).Delete(testCtx(t), "web-0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "a terminating endpoint", func() (bool, string) {
		eps, _, _ := c.serviceEndpoints(t, ns, "web")
		e, ok := eps["web-0"]
		return ok && !e.ready && e.serving && e.terminating, fmt.Sprintf("%+v", eps)
	})
}

func TestEndpointSliceSplitsPast100(t *testing.T) {
	t.Parallel()
	c := startCluster(t, steadyNodes)
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("64Gi"),
		corev1.ResourcePods:   resource.MustParse("200"),
	}
	c.addNodes(t, 2, hollow.Options{Capacity: capacity})
	ns := c.namespace(t)
	if _, err := c.Client.CoreV1().Services(ns).Create(testCtx(t), webService(ns), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const total = 230
	createPods(t, c, ns, 0, total)
	eventually(t, 90*time.Second, fmt.Sprintf("%d ready endpoints", total), func() (bool, string) {
		eps, sizes, problem := c.serviceEndpoints(t, ns, "web")
		if problem != "" {
			return false, problem
		}
		ready := 0
		for _, e := range eps {
			if e.ready {
				ready++
			}
		}
		return ready == total, fmt.Sprintf("%d endpoints (%d ready) in slices of %v", len(eps), ready, sizes)
	})
	_, sizes, _ := c.serviceEndpoints(t, ns, "web")
	if len(sizes) != 3 || sizes[len(sizes)-1] > 100 {
		t.Errorf("slices of %v endpoints, want three of at most 100", sizes)
	}

	// Pods leaving: the slices shrink, nothing is duplicated, no slice exceeds 100.
	var wg sync.WaitGroup
	for i := 0; i < total; i += 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			zero := int64(0)
			if err := c.Client.CoreV1().Pods(ns).Delete(testCtx(t), fmt.Sprintf("web-%03d", i), metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
				t.Errorf("delete pod: %v", err)
			}
		}()
	}
	wg.Wait()
	eventually(t, 60*time.Second, fmt.Sprintf("%d endpoints", total/2), func() (bool, string) {
		eps, sizes, problem := c.serviceEndpoints(t, ns, "web")
		if problem != "" {
			return false, problem
		}
		for name := range eps {
			var n int
			if _, err := fmt.Sscanf(strings.TrimPrefix(name, "web-"), "%d", &n); err != nil || n%2 == 0 {
				return false, "endpoint of deleted pod " + name
			}
		}
		ok := len(eps) == total/2 && sizes[len(sizes)-1] <= 100
		return ok, fmt.Sprintf("%d endpoints in slices of %v", len(eps), sizes)
	})
}

// createPods creates web-<from>..web-<to-1> in parallel.
func createPods(t *testing.T, c *cluster, ns string, from, to int) {
	t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := from; i < to; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := c.Client.CoreV1().Pods(ns).Create(testCtx(t), webPod(ns, fmt.Sprintf("web-%03d", i), 8080), metav1.CreateOptions{}); err != nil {
				t.Errorf("create pod: %v", err)
			}
		}()
	}
	wg.Wait()
}
