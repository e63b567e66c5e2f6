package scheduler

import (
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// clusterCache is the scheduler's view of the nodes and of the pods on them, kept up to
// date one event at a time (never rebuilt per pod). Besides the bound pods the
// informer reports, it holds assumed pods: placed by the scheduler and counted on
// their node at once, so that the next pod sees them, while their binding is in
// flight. The informer's report of the bound pod confirms an assumed one (without
// counting it twice); a failed binding forgets it; an assumed pod whose binding
// finished but whose report never came expires after ttl.
type clusterCache struct {
	ttl time.Duration
	now func() time.Time

	mu sync.Mutex // guards the fields below
	// nodes holds a NodeInfo per node name, and a placeholder (Node nil) for a
	// node that bound pods name before the node itself is known.
	nodes map[string]*NodeInfo
	// list holds the NodeInfos with a Node, in no particular order, for searches.
	list    []*NodeInfo
	pods    map[types.UID]*cachedPod
	assumed map[types.UID]*cachedPod // the subset of pods not yet confirmed
	// nextStart is where the next search begins, so that searches that stop
	// early still visit every node in turn.
	nextStart int
}

// cachedPod is a pod counted on a node.
type cachedPod struct {
	pod     *corev1.Pod
	assumed bool
	// deadline is when an assumed pod whose binding finished expires; zero while
	// the binding is in flight.
	deadline time.Time
}

// newCache returns an empty cache; assumed pods expire ttl after their binding.
func newCache(ttl time.Duration, now func() time.Time) *clusterCache {
	return &clusterCache{
		ttl: ttl, now: now, nodes: map[string]*NodeInfo{},
		pods: map[types.UID]*cachedPod{}, assumed: map[types.UID]*cachedPod{},
	}
}

// SetNode adds a node or replaces it, keeping the pods counted on it.
func (c *clusterCache) SetNode(n *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni := c.nodes[n.Name]
	if ni == nil {
		ni = newNodeInfo(nil)
		c.nodes[n.Name] = ni
	}
	ni.setNode(n)
	if ni.index < 0 {
		ni.index = len(c.list)
		c.list = append(c.list, ni)
	}
}

// RemoveNode forgets a node. Pods still bound to it stay counted on a placeholder
// until they are deleted, in case the node comes back.
func (c *clusterCache) RemoveNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni := c.nodes[name]
	if ni == nil {
		return
	}
	if i := ni.index; i >= 0 {
		last := len(c.list) - 1
		c.list[i] = c.list[last]
		c.list[i].index = i
		c.list[last] = nil
		c.list = c.list[:last]
		ni.index = -1
	}
	ni.setNode(nil)
	if len(ni.Pods) == 0 {
		delete(c.nodes, name)
	}
}

// SetPod counts a pod the informer reports bound, or its new version. It confirms
// the pod if it was assumed. A finished pod is forgotten, as it takes nothing.
func (c *clusterCache) SetPod(p *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(p.UID)
	if !podFinished(p) && p.Spec.NodeName != "" {
		c.addLocked(&cachedPod{pod: p}, newPodInfo(p))
	}
}

// RemovePod forgets a pod that was deleted.
func (c *clusterCache) RemovePod(p *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked(p.UID)
}

// Known says whether the cache counts a pod, bound or assumed.
func (c *clusterCache) Known(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pods[uid] != nil
}

// placement is where a pod went, or why it could not.
type placement struct {
	node   string // empty when no node fits
	nodes  int    // nodes in the cluster
	result searchResult
}

// PlaceAndAssume searches a rotated sample of the nodes for the pod (see
// feasibleNodesToFind) and assumes it on the best: it is counted there before the
// lock is released. The pod object is not changed; the assumed copy shares all
// but its spec.nodeName with it.
func (c *clusterCache) PlaceAndAssume(pi *podInfo, parallelism int) (placement, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pods[pi.pod.UID] != nil {
		return placement{}, fmt.Errorf("pod %s/%s is already assumed or bound", pi.pod.Namespace, pi.pod.Name)
	}
	n := len(c.list)
	pl := placement{nodes: n}
	if n == 0 {
		return pl, nil
	}
	start := c.nextStart % n
	pl.result = search(pi, c.list, searchOptions{start: start, want: feasibleNodesToFind(n), parallelism: parallelism})
	c.nextStart = (start + pl.result.examined) % n
	if pl.result.best == nil {
		return pl, nil
	}
	pl.node = pl.result.best.Node.Name
	assumed := *pi.pod // shallow: the informer's object is shared, never written
	assumed.Spec.NodeName = pl.node
	api := *pi
	api.pod = &assumed
	cp := &cachedPod{pod: &assumed, assumed: true}
	c.addLocked(cp, &api)
	return pl, nil
}

// FinishBinding starts the expiry of an assumed pod whose binding succeeded: if
// the informer does not report it bound within ttl, it is forgotten.
func (c *clusterCache) FinishBinding(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cp := c.assumed[uid]; cp != nil {
		cp.deadline = c.now().Add(c.ttl)
	}
}

// Forget uncounts an assumed pod whose binding failed. A pod already confirmed
// stays: the informer saw it bound after all.
func (c *clusterCache) Forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.assumed[uid] != nil {
		c.removeLocked(uid)
	}
}

// Expire forgets the assumed pods whose deadline has passed, and returns them.
func (c *clusterCache) Expire() []*corev1.Pod {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	var out []*corev1.Pod
	for uid, cp := range c.assumed {
		if !cp.deadline.IsZero() && now.After(cp.deadline) {
			out = append(out, cp.pod)
			c.removeLocked(uid)
		}
	}
	return out
}

// addLocked counts a pod on the node its spec.nodeName names, creating a
// placeholder for an unknown node.
func (c *clusterCache) addLocked(cp *cachedPod, pi *podInfo) {
	name := cp.pod.Spec.NodeName
	ni := c.nodes[name]
	if ni == nil {
		ni = newNodeInfo(nil)
		c.nodes[name] = ni
	}
	ni.add(pi)
	c.pods[cp.pod.UID] = cp
	if cp.assumed {
		c.assumed[cp.pod.UID] = cp
	}
}

// removeLocked uncounts a pod, if it is counted.
func (c *clusterCache) removeLocked(uid types.UID) {
	cp := c.pods[uid]
	if cp == nil {
		return
	}
	delete(c.pods, uid)
	delete(c.assumed, uid)
	name := cp.pod.Spec.NodeName
	if ni := c.nodes[name]; ni != nil {
		ni.Remove(cp.pod)
		if ni.Node == nil && len(ni.Pods) == 0 {
			delete(c.nodes, name)
		}
	}
}

// cacheCounts are the sizes of the cache, for tests.
type cacheCounts struct{ nodes, pods, assumed int }

// Counts returns the sizes of the cache.
func (c *clusterCache) Counts() cacheCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cacheCounts{len(c.list), len(c.pods), len(c.assumed)}
}

// requested returns what the pods on a node request, for tests.
func (c *clusterCache) requested(node string) Resources {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ni := c.nodes[node]; ni != nil {
		return ni.Requested
	}
	return Resources{}
}
