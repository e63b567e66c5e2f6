package runtime

import (
	"context"
	"errors"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Runtime runs a node's containers. Every container is named by an ID the
// kubelet chooses (see ContainerSpec.ID) and runs at most once: a restart is
// a new container with a new ID. Methods are safe for concurrent use.
type Runtime interface {
	// ImportImages imports the images of an OCI or Docker image tarball and
	// unpacks them, returning their names ("docker.io/library/app:v1").
	ImportImages(ctx context.Context, tarPath string) ([]string, error)
	// EnsureImage makes ref present and unpacked as policy says (Never: it
	// must be there already, else ErrImageNotPresent; IfNotPresent or "": pull
	// if absent; Always: pull) and returns its image ID, the digest of its
	// config. A failed pull wraps ErrImagePull and the registry's error; a
	// reference that does not parse, ErrInvalidImageName.
	EnsureImage(ctx context.Context, ref string, policy corev1.PullPolicy) (imageID string, err error)
	// CreateContainer creates a container from spec; its image must be
	// present (else ErrImageNotPresent). It does not start it.
	CreateContainer(ctx context.Context, spec ContainerSpec) error
	// StartContainer starts a created container. When the container's
	// process cannot be started, the error is returned and the container is
	// left Exited with exit code 128 and reason ReasonStartError.
	StartContainer(ctx context.Context, id string) error
	// StopContainer sends the image's stop signal (SIGTERM by default),
	// waits up to grace for the container to exit, then sends SIGKILL and
	// waits for the exit. A container not running is left as it is.
	StopContainer(ctx context.Context, id string, grace time.Duration) error
	// ContainerStatus reports a container's state. An exited container's
	// exit is recorded in the container itself, so it is reported the same
	// after a kubelet restart.
	ContainerStatus(ctx context.Context, id string) (ContainerStatus, error)
	// WaitContainer blocks until the container has exited (or ctx ends) and
	// returns its status. A container that was never started counts as
	// running until it is.
	WaitContainer(ctx context.Context, id string) (ContainerStatus, error)
	// RemoveContainer kills the container if it runs and removes it with its
	// task and its root filesystem snapshot. Removing a container that does
	// not exist is not an error. The log file stays: it is the kubelet's.
	RemoveContainer(ctx context.Context, id string) error
	// ListContainers lists the containers whose labels include all of
	// labels (all containers for none), oldest first.
	ListContainers(ctx context.Context, labels map[string]string) ([]ContainerInfo, error)
	// Exec runs cmd in the running container with the container's
	// environment, user and working directory, and returns its exit code and
	// its output (stdout and stderr together, at most MaxExecOutput bytes).
	// After timeout (none if zero) the command is killed and the error wraps
	// ErrExecTimeout.
	Exec(ctx context.Context, id string, cmd []string, timeout time.Duration) (exitCode int, output []byte, err error)
}

// ContainerSpec describes a container to create.
type ContainerSpec struct {
	// ID names the container: letters, digits and '.', '_', '-' between
	// them, at most 76 characters. It is also the name of its snapshot.
	ID string
	// Image is the image reference as a pod spec gives it ("app:v1" means
	// "docker.io/library/app:v1").
	Image string
	// Labels are recorded on the container for ListContainers; see the
	// Label constants. Keys with the prefix "berth.dev/runtime." are
	// reserved.
	Labels map[string]string

	// Command replaces the image's entrypoint, and Args its command, as a
	// Kubernetes container's command and args do.
	Command, Args []string
	// Env holds "NAME=value" entries added to, or replacing, the image's.
	Env []string
	// WorkingDir replaces the image's working directory.
	WorkingDir string

	// NetNSPath, IPCNSPath and UTSNSPath are namespace files (bind mounts of
	// /proc/PID/ns/*) of the pod, which the container joins. An empty one
	// gives the container a new namespace of its own (for the network: only
	// a loopback interface; never the host's).
	NetNSPath, IPCNSPath, UTSNSPath string
	// Hostname sets the host name (in the UTS namespace, shared or not).
	Hostname string

	// Mounts are bind mounts of host paths: volumes, /etc/hosts,
	// /etc/resolv.conf, /dev/termination-log.
	Mounts []Mount

	// CPUShares, CPUQuota with CPUPeriod (microseconds) and MemoryLimit
	// (bytes) are cgroup limits; zero means none.
	CPUShares   uint64
	CPUQuota    int64
	CPUPeriod   uint64
	MemoryLimit int64
	// CgroupParent, if set, puts the container's cgroup under it.
	CgroupParent string

	// RunAsUser and RunAsGroup replace the image's user and group.
	RunAsUser, RunAsGroup *int64
	// ReadOnlyRootFS mounts the root filesystem read-only.
	ReadOnlyRootFS bool
	// Privileged gives all capabilities and devices, and no seccomp,
	// AppArmor or masked paths.
	Privileged bool

	// LogPath is the absolute path of the log file the container's stdout
	// and stderr go to, in the CRI log format (see package logs); empty
	// drops the output. LogMaxSize rotates it (zero: never).
	LogPath    string
	LogMaxSize int64
}

// Mount is a bind mount of a host path into a container.
type Mount struct {
	HostPath      string
	ContainerPath string
	ReadOnly      bool
}

// State is the state of a container.
type State string

// The states of a container.
const (
	// StateCreated is a container not started yet.
	StateCreated State = "Created"
	// StateRunning is a container whose process runs.
	StateRunning State = "Running"
	// StateExited is a container whose process has ended (or never could
	// start).
	StateExited State = "Exited"
	// StateUnknown is a container whose task containerd cannot account for.
	StateUnknown State = "Unknown"
)

// The reasons an exited container gives, as Kubernetes reports them.
const (
	ReasonCompleted  = "Completed"  // exit code 0
	ReasonError      = "Error"      // another exit code
	ReasonOOMKilled  = "OOMKilled"  // killed by the kernel for using more than its memory limit
	ReasonStartError = "StartError" // its process could not be started
)

// ContainerStatus is what ContainerStatus reports of one container.
type ContainerStatus struct {
	ID    string
	State State
	// Image is the image's normalized name, ImageID its config digest.
	Image   string
	ImageID string
	// Labels are the labels given at creation.
	Labels map[string]string
	// Pid is the container's first process in the host's PID namespace,
	// while it runs.
	Pid uint32

	CreatedAt  time.Time
	StartedAt  time.Time // zero until started
	FinishedAt time.Time // zero until exited

	// ExitCode, Reason and Message describe an exited container. A
	// container killed by a signal has 128 plus the signal's number
	// (137 for SIGKILL).
	ExitCode  int
	OOMKilled bool
	Reason    string
	Message   string
}

// ContainerInfo is what ListContainers reports of one container.
type ContainerInfo struct {
	ID        string
	Image     string
	Labels    map[string]string
	CreatedAt time.Time
}

// Labels the kubelet records on its containers so that, after a restart, it
// can find the containers of each pod (ListContainers) and adopt them.
const (
	LabelPodUID        = "berth.dev/pod-uid"
	LabelPodNamespace  = "berth.dev/pod-namespace"
	LabelPodName       = "berth.dev/pod-name"
	LabelContainerName = "berth.dev/container-name"
	// LabelAttempt is the container's restart count within its pod, as a
	// decimal number.
	LabelAttempt = "berth.dev/attempt"
)

// MaxExecOutput is the most output Exec returns; the rest is dropped.
const MaxExecOutput = 64 << 10

// Errors callers act on. Errors wrap them; test with errors.Is.
var (
	// ErrImageNotPresent: the image is not on the node and the pull policy
	// forbids pulling it (or CreateContainer was called before EnsureImage).
	ErrImageNotPresent = errors.New("image not present")
	// ErrImagePull: pulling the image failed; the error says why.
	ErrImagePull = errors.New("image pull failed")
	// ErrInvalidImageName: the image reference cannot be parsed.
	ErrInvalidImageName = errors.New("invalid image name")
	// ErrContainerNotFound: no container has the ID.
	ErrContainerNotFound = errors.New("container not found")
	// ErrNotRunning: the container's process does not run (Exec).
	ErrNotRunning = errors.New("container not running")
	// ErrExecTimeout: an Exec command outlived its timeout and was killed.
	ErrExecTimeout = errors.New("exec timed out")
)
