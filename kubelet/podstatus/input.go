package podstatus

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The values of ContainerState.State.
const (
	Waiting    = "waiting"
	Running    = "running"
	Terminated = "terminated"
)

// Input is what the kubelet observed of a pod.
type Input struct {
	// Now stamps conditions that change.
	Now time.Time
	// PodIP is the pod's primary address; PodIPs all of them (nil: just
	// PodIP).
	PodIP  string
	PodIPs []string
	// HostIP is the node's address.
	HostIP string
	// StartTime is when the kubelet first saw the pod; nil keeps
	// pod.Status.StartTime.
	StartTime *metav1.Time
	// InitDone is true once every init container has completed (or the
	// pod's regular containers were started before): the pod is
	// Initialized even while a sidecar restarts.
	InitDone bool
	// Terminal is true when the pod will not run again (deleted, or its
	// containers all ended under its restart policy): a pod whose
	// containers all stopped is then Succeeded or Failed whatever the
	// restart policy.
	Terminal bool
	// SandboxReady tells whether the pod's namespaces and network are set
	// up (condition PodReadyToStartContainers); nil derives it from PodIP
	// (or hostNetwork).
	SandboxReady *bool
	// Init and Containers are the observed states of the init and regular
	// containers, in any order; a container of the spec missing here is
	// shown waiting (ContainerCreating, or PodInitializing when the pod
	// has init containers), or as pod.Status last showed it terminated.
	Init       []ContainerState
	Containers []ContainerState
}

// ContainerState is what the kubelet observed of one container.
type ContainerState struct {
	Name string
	// State is Waiting, Running or Terminated ("" is Waiting).
	State string
	// Reason and Message explain a waiting or terminated state
	// ("CrashLoopBackOff", "Error", "Completed", ...).
	Reason, Message string
	ExitCode        int32
	// StartedAt and FinishedAt are the process's start and end.
	StartedAt, FinishedAt time.Time
	RestartCount          int32
	// Ready is the readiness probe's verdict (true without a probe) for a
	// running container; ignored otherwise.
	Ready bool
	// Started is the startup probe's verdict; nil means "running".
	Started *bool
	// Image is the image as the spec names it ("" takes the spec's);
	// ImageID its resolved digest; ContainerID "containerd://<id>".
	Image, ImageID, ContainerID string
	// Last is the previous run, shown as lastState when it terminated.
	Last *ContainerState
}
