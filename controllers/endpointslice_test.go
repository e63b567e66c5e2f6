package controllers

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func testService(mod ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "svc-uid", Labels: map[string]string{"team": "a"}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{
				{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
				{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9090), Protocol: corev1.ProtocolTCP},
			},
		},
	}
	for _, m := range mod {
		m(s)
	}
	return s
}

// testWebPod is a pod of testService with an address, serving "http" on port.
func testWebPod(name, ip string, port int32, ready bool, mod ...func(*corev1.Pod)) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name + "-uid"), Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{
			Name: "web", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: port, Protocol: corev1.ProtocolTCP}},
		}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
	for _, m := range mod {
		m(p)
	}
	return p
}

// describeEndpoints renders a group's endpoints as "pod ready/serving/terminating".
func describeEndpoints(eps []discoveryv1.Endpoint) []string {
	var out []string
	for _, ep := range eps {
		c := ep.Conditions
		out = append(out, fmt.Sprintf("%s %s %v/%v/%v", ep.TargetRef.Name, ep.Addresses[0], *c.Ready, *c.Serving, *c.Terminating))
	}
	return out
}

func TestDesiredEndpoints(t *testing.T) {
	deleting := func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: time.Now()} }
	pods := []*corev1.Pod{
		testWebPod("a", "10.0.0.1", 8080, true),
		testWebPod("b", "10.0.0.2", 8080, false),
		testWebPod("c", "10.0.0.3", 8080, true, deleting),
		testWebPod("d", "", 8080, true),                                                                // no address yet
		testWebPod("e", "10.0.0.5", 8080, false, func(p *corev1.Pod) { p.Status.Phase = "Succeeded" }), // finished
		testWebPod("f", "10.0.0.6", 8081, true),                                                        // "http" is another port
		testWebPod("g", "fd00::7", 8080, true),                                                         // IPv6 only
	}
	got := desiredEndpoints(testService(), pods, func(string) string { return "zone-a" })
	if len(got) != 2 {
		t.Fatalf("%d port groups, want 2 (http on 8080 and on 8081)", len(got))
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	g8080, g8081 := got[keys[0]], got[keys[1]]
	if !strings.Contains(keys[0], "http/TCP/8080") || !strings.Contains(keys[1], "http/TCP/8081") {
		t.Fatalf("port groups %q", keys)
	}
	want := []string{"a 10.0.0.1 true/true/false", "b 10.0.0.2 false/false/false", "c 10.0.0.3 false/true/true"}
	if diff := cmp.Diff(want, describeEndpoints(g8080.endpoints)); diff != "" {
		t.Errorf("endpoints on 8080 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"f 10.0.0.6 true/true/false"}, describeEndpoints(g8081.endpoints)); diff != "" {
		t.Errorf("endpoints on 8081 (-want +got):\n%s", diff)
	}
	ep := g8080.endpoints[0]
	if *ep.NodeName != "node-1" || *ep.Zone != "zone-a" || ep.TargetRef.Kind != "Pod" || ep.TargetRef.UID != "a-uid" {
		t.Errorf("endpoint %+v: want node-1, zone-a and a reference to pod a", ep)
	}
	ports := []string{}
	for _, p := range g8080.ports {
		ports = append(ports, fmt.Sprintf("%s:%d/%s", *p.Name, *p.Port, *p.Protocol))
	}
	if diff := cmp.Diff([]string{"http:8080/TCP", "metrics:9090/TCP"}, ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}

	// publishNotReadyAddresses: every endpoint is ready.
	got = desiredEndpoints(testService(func(s *corev1.Service) { s.Spec.PublishNotReadyAddresses = true }), pods[:3], func(string) string { return "" })
	for _, g := range got {
		for _, ep := range g.endpoints {
			if !*ep.Conditions.Ready || ep.Zone != nil {
				t.Errorf("endpoint %s: ready %v zone %v, want ready and no zone", ep.TargetRef.Name, *ep.Conditions.Ready, ep.Zone)
			}
		}
	}
}

func TestEndpointPortsMissingNamedPort(t *testing.T) {
	p := testWebPod("a", "10.0.0.1", 8080, true, func(p *corev1.Pod) { p.Spec.Containers[0].Ports = nil })
	ports := endpointPorts(testService(), p)
	if len(ports) != 1 || *ports[0].Name != "metrics" {
		t.Errorf("ports %v, want only metrics (the pod has no port named http)", ports)
	}
}

// testSlice is an existing slice of testService holding the endpoints of pods
// p<n> (see testPods), on port 8080.
func testSlice(name string, pods ...int) *discoveryv1.EndpointSlice {
	svc := testService()
	var eps []discoveryv1.Endpoint
	for _, n := range pods {
		p := testWebPod(fmt.Sprintf("p%03d", n), fmt.Sprintf("10.0.%d.%d", n/250, n%250+1), 8080, true)
		eps = append(eps, podEndpoint(svc, p, podIPv4(p), ""))
	}
	m := endpointSliceMeta(svc)
	s := m.newSlice(svc, endpointPorts(svc, testWebPod("x", "10.9.9.9", 8080, true)), eps)
	s.Name, s.GenerateName, s.UID = name, "", types.UID(name+"-uid")
	return s
}

// testPods makes pods p<first>..p<last-1>, ready, serving http on 8080.
func testPods(first, last int) []*corev1.Pod {
	var out []*corev1.Pod
	for n := first; n < last; n++ {
		out = append(out, testWebPod(fmt.Sprintf("p%03d", n), fmt.Sprintf("10.0.%d.%d", n/250, n%250+1), 8080, true))
	}
	return out
}

// describePlan renders a plan as "create:<n endpoints>", "update <name>:<n>", "delete <name>".
func describePlan(p slicePlan) []string {
	var out []string
	for _, s := range p.create {
		out = append(out, fmt.Sprintf("create:%d", len(s.Endpoints)))
	}
	for _, s := range p.update {
		out = append(out, fmt.Sprintf("update %s:%d", s.Name, len(s.Endpoints)))
	}
	for _, s := range p.delete {
		out = append(out, "delete "+s.Name)
	}
	return out
}

func TestPlanEndpointSlices(t *testing.T) {
	svc := testService()
	plan := func(existing []*discoveryv1.EndpointSlice, pods []*corev1.Pod) slicePlan {
		return planEndpointSlices(svc, existing, desiredEndpoints(svc, pods, func(string) string { return "" }), 100)
	}
	for _, tc := range []struct {
		name     string
		existing []*discoveryv1.EndpointSlice
		pods     []*corev1.Pod
		want     []string
	}{
		{"first sync: a slice per 100", nil, testPods(0, 250), []string{"create:100", "create:100", "create:50"}},
		{"in step: nothing", []*discoveryv1.EndpointSlice{testSlice("s1", 0, 1, 2)}, testPods(0, 3), nil},
		{"a pod gone: its slice only", []*discoveryv1.EndpointSlice{testSlice("s1", 0, 1), testSlice("s2", 2, 3)}, testPods(0, 3),
			[]string{"update s2:1"}},
		{"a new pod goes into a slice with room", []*discoveryv1.EndpointSlice{testSlice("s1", 0, 1)}, testPods(0, 3),
			[]string{"update s1:3"}},
		{"a slice emptied is deleted", []*discoveryv1.EndpointSlice{testSlice("s1", 0, 1), testSlice("s2", 2)}, testPods(0, 2),
			[]string{"delete s2"}},
		{"a full slice in step stays as it is", []*discoveryv1.EndpointSlice{testSlice("s1", epSeq(0, 100)...), testSlice("s2", 100)},
			testPods(0, 100), []string{"delete s2"}},
		{"overflow into a new slice", []*discoveryv1.EndpointSlice{testSlice("s1", epSeq(0, 100)...)}, testPods(0, 101), []string{"create:1"}},
		{"no pods: one empty placeholder", []*discoveryv1.EndpointSlice{testSlice("s1", 0), testSlice("s2", 1)}, nil,
			[]string{"update s1:0", "delete s2"}},
		{"no pods, no slices: a placeholder", nil, nil, []string{"create:0"}},
	} {
		if diff := cmp.Diff(tc.want, describePlan(plan(tc.existing, tc.pods))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}

	// A changed endpoint is updated in place; the labels and owner are the Service's.
	notReady := testPods(0, 2)
	notReady[1].Status.Conditions[0].Status = corev1.ConditionFalse
	p := plan([]*discoveryv1.EndpointSlice{testSlice("s1", 0, 1)}, notReady)
	if len(p.update) != 1 || *p.update[0].Endpoints[1].Conditions.Ready {
		t.Fatalf("plan %v, want s1 updated with p001 not ready", describePlan(p))
	}
	s := p.update[0]
	wantLabels := map[string]string{"team": "a", discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"}
	if diff := cmp.Diff(wantLabels, s.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if !ownedBy(s, types.UID("svc-uid")) || s.AddressType != discoveryv1.AddressTypeIPv4 {
		t.Errorf("owners %v addressType %s", s.OwnerReferences, s.AddressType)
	}

	// Pods whose named port resolves differently land in different slices.
	mixed := append(testPods(0, 2), testWebPod("other", "10.1.0.1", 9000, true))
	p = plan(nil, mixed)
	if got := describePlan(p); len(got) != 2 {
		t.Errorf("plan %v, want two new slices (http on 8080 and on 9000)", got)
	}
}

func TestPlanEndpointSlicesReusesDoomedSlice(t *testing.T) {
	svc := testService()
	// s2's only endpoint is gone and 101 pods need a second slice: s2 is reused.
	existing := []*discoveryv1.EndpointSlice{testSlice("s1", epSeq(0, 100)...), testSlice("s2", 500)}
	p := planEndpointSlices(svc, existing, desiredEndpoints(svc, testPods(0, 101), func(string) string { return "" }), 100)
	if diff := cmp.Diff([]string{"update s2:1"}, describePlan(p)); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
}

func TestPlanEndpointSlicesIsStable(t *testing.T) {
	// Applying a plan and planning again changes nothing.
	svc := testService()
	pods := testPods(0, 230)
	zone := func(string) string { return "" }
	p := planEndpointSlices(svc, nil, desiredEndpoints(svc, pods, zone), 100)
	var existing []*discoveryv1.EndpointSlice
	for i, s := range p.create {
		s.Name = fmt.Sprintf("web-%d", i)
		existing = append(existing, s)
	}
	pods = append(pods[:10], pods[20:]...) // ten pods go
	p = planEndpointSlices(svc, existing, desiredEndpoints(svc, pods, zone), 100)
	if diff := cmp.Diff([]string{"update web-0:90"}, describePlan(p)); diff != "" {
		t.Errorf("plan after ten pods left (-want +got):\n%s", diff)
	}
	existing[0] = p.update[0]
	if got := describePlan(planEndpointSlices(svc, existing, desiredEndpoints(svc, pods, zone), 100)); len(got) != 0 {
		t.Errorf("plan in step = %v, want nothing", got)
	}
}

func epSeq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}
