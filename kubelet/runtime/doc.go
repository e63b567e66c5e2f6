// Package runtime runs the kubelet's containers on containerd and runc.
//
// The kubelet talks to containers only through the Runtime interface; its
// implementation, Containerd, drives a containerd daemon (Debian's 1.6, or
// later) through containerd's 1.7 Go client, in the containerd namespace
// "berth". StartDaemon runs that daemon as a child process when the agent
// has none to use.
//
// # Containers
//
// The kubelet names every container: a container runs once, so each attempt
// of a pod's container is a new container with a new ID (for example
// "<pod-uid>-<name>-<attempt>"). Its labels record which pod and container
// it is (LabelPodUID, LabelPodNamespace, LabelPodName, LabelContainerName,
// LabelAttempt), so that a restarted kubelet finds the containers of each
// pod with ListContainers and adopts them without restarting them.
//
//	rt, err := runtime.New(runtime.Options{Address: sock, LogDriver: berthBinary, RuncRoot: d.RuncRoot()})
//	imageID, err := rt.EnsureImage(ctx, "app:v1", corev1.PullIfNotPresent)
//	err = rt.CreateContainer(ctx, runtime.ContainerSpec{
//		ID:        id,
//		Image:     "app:v1",
//		Labels:    map[string]string{runtime.LabelPodUID: string(pod.UID), runtime.LabelContainerName: "app", runtime.LabelAttempt: "0"},
//		NetNSPath: netns, IPCNSPath: ipcns, UTSNSPath: utsns, // the pod's, pinned by the kubelet
//		LogPath:   "/var/lib/berth/pods/<uid>/app/0.log",
//		LogMaxSize: 10 << 20,
//	})
//	err = rt.StartContainer(ctx, id)
//	st, err := rt.WaitContainer(ctx, id) // or poll rt.ContainerStatus
//	err = rt.StopContainer(ctx, id, 30*time.Second)
//	err = rt.RemoveContainer(ctx, id)
//
// A container joins the pod's network, IPC and UTS namespaces through the
// namespace files the kubelet pins. Without a path it gets new namespaces of
// its own: never the host's network.
//
// # Exits survive the kubelet
//
// When ContainerStatus (or StopContainer, or WaitContainer) finds a
// container's task exited, it reaps it: the exit code, the time and whether
// the kernel killed it for exceeding its memory limit are written into the
// container's labels, then the task is deleted (ending its shim and its log
// driver). A container that exits while the kubelet is down is reaped when
// the kubelet next asks. OOM kills are read from the container's memory
// cgroup (memory.oom_control on cgroup v1, memory.events on v2), which lives
// until the task is deleted, rather than from containerd's /tasks/oom
// events, which a kubelet that was down would miss. A start time is kept the
// same way, so a restarted kubelet reports the same one.
//
// # Logs
//
// A container's stdout and stderr go to its LogPath in the CRI log format
// through containerd's binary logging: the container's shim starts `berth
// log-driver` (Options.LogDriver is the berth binary), which lives as long
// as the container's task and not as long as the kubelet. See package logs.
//
// # The caller's duties
//
// The kubelet creates and removes the pod's namespaces, volumes, /etc/hosts
// and the like, chooses container IDs, decides restarts and keeps log files
// of previous attempts as long as it wants them: RemoveContainer leaves the
// log file.
package runtime
