// Package podstatus computes a pod's status from what the kubelet observed
// of its containers, as the kubelet's generateAPIPodStatus and getPhase do:
// the phase from the container states and the restart policy, the
// kubelet-owned conditions (PodReadyToStartContainers, Initialized, Ready,
// ContainersReady, PodScheduled) with the kubelet's reasons and messages,
// the container statuses in spec order, and the pod's addresses.
//
// Compute is pure: the pod worker gathers the container states from the
// runtime and the probers, passes the time, and writes the result:
//
//	st := podstatus.Compute(pod, podstatus.Input{
//		Now: now, PodIP: ip, HostIP: nodeIP, InitDone: initDone,
//		Containers: []podstatus.ContainerState{{Name: "web", State: podstatus.Running, ...}},
//	})
//
// Conditions that do not change keep their last transition time from
// pod.Status, so writing the result again is a no-op.
package podstatus
