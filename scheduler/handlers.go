package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/tools/cache"
)

// The informers' event handlers route each pod and node change: bound pods to the
// cache, pending pods of this scheduler to the queue, and changes that could let
// unschedulable pods fit to the queue's MoveAll.

// responsible says whether a pending pod is this scheduler's to place.
// A pod without a scheduler name is the default scheduler's.
func (s *Scheduler) responsible(p *corev1.Pod) bool {
	name := p.Spec.SchedulerName
	if name == "" {
		name = corev1.DefaultSchedulerName
	}
	return name == s.opts.SchedulerName && p.DeletionTimestamp == nil && !podFinished(p)
}

func (s *Scheduler) onPodAdd(obj any) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	switch {
	case p.Spec.NodeName != "":
		s.cache.SetPod(p)
	case s.responsible(p):
		s.queue.Add(p)
	}
}

func (s *Scheduler) onPodUpdate(oldObj, obj any) {
	old, ok1 := oldObj.(*corev1.Pod)
	p, ok2 := obj.(*corev1.Pod)
	if !ok1 || !ok2 {
		return
	}
	switch {
	case p.Spec.NodeName != "":
		if old.Spec.NodeName == "" {
			s.queue.Delete(p) // bound: by this scheduler or another
		}
		s.cache.SetPod(p)
		if !podFinished(old) && podFinished(p) {
			s.queue.MoveAll() // its requests are free again
		}
	case s.responsible(p):
		s.queue.Add(p)
	default:
		s.queue.Delete(p) // being deleted, finished or handed to another scheduler
	}
}

func (s *Scheduler) onPodDelete(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	s.cache.RemovePod(p) // also an assumed pod whose binding is in flight
	if p.Spec.NodeName == "" {
		s.queue.Delete(p)
		return
	}
	if !podFinished(p) {
		s.queue.MoveAll() // its requests are free again
	}
}

func (s *Scheduler) onNodeAdd(obj any) {
	if n, ok := obj.(*corev1.Node); ok {
		s.cache.SetNode(n)
		s.queue.MoveAll()
	}
}

func (s *Scheduler) onNodeUpdate(oldObj, obj any) {
	old, ok1 := oldObj.(*corev1.Node)
	n, ok2 := obj.(*corev1.Node)
	if !ok1 || !ok2 {
		return
	}
	s.cache.SetNode(n)
	if nodeChangeMayHelp(old, n) {
		s.queue.MoveAll()
	}
}

func (s *Scheduler) onNodeDelete(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if n, ok := obj.(*corev1.Node); ok {
		s.cache.RemoveNode(n.Name)
	}
}

// nodeChangeMayHelp says whether a node update changed what the filters read: its
// allocatable, labels, taints, unschedulable flag or Ready condition. Heartbeats
// change none of these.
func nodeChangeMayHelp(old, n *corev1.Node) bool {
	return old.Spec.Unschedulable != n.Spec.Unschedulable ||
		nodeIsReady(old) != nodeIsReady(n) ||
		!equality.Semantic.DeepEqual(old.Status.Allocatable, n.Status.Allocatable) ||
		!equality.Semantic.DeepEqual(old.Labels, n.Labels) ||
		!equality.Semantic.DeepEqual(old.Spec.Taints, n.Spec.Taints)
}
