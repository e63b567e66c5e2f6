package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/errdefs"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/berth-dev/berth/internal/testcontainerd"
	"github.com/berth-dev/berth/kubelet/logs"
	"github.com/berth-dev/berth/kubelet/runtime"
)

// testEnv is a private containerd with the test image imported, and a
// runtime on it.
type testEnv struct {
	t      *testing.T
	d      *testcontainerd.Daemon
	rt     *runtime.Containerd
	logDir string
}

// newTestEnv starts containerd and a runtime for the test; it skips the test
// where containerd cannot run.
func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	d := testcontainerd.Start(t)
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	e := &testEnv{t: t, d: d, logDir: t.TempDir()}
	e.rt = e.newRuntime()
	names, err := e.rt.ImportImages(context.Background(), imageTarball)
	if err != nil {
		t.Fatalf("ImportImages: %v", err)
	}
	if want := testImage; !slices.Equal(names, []string{want}) {
		t.Fatalf("ImportImages = %q, want [%s]", names, want)
	}
	return e
}

// newRuntime connects another runtime to the daemon, as a restarted kubelet
// would.
func (e *testEnv) newRuntime() *runtime.Containerd {
	e.t.Helper()
	rt, err := runtime.New(runtime.Options{
		Address:   e.d.Address,
		LogDriver: berthBinary,
		RuncRoot:  e.d.RuncRoot(),
		FIFODir:   e.t.TempDir(),
	})
	if err != nil {
		e.t.Fatalf("runtime.New: %v", err)
	}
	e.t.Cleanup(func() { rt.Close() })
	return rt
}

// spec returns a spec of the test image logging to a file of its own, with
// the program running mode.
func (e *testEnv) spec(id string, mode ...string) runtime.ContainerSpec {
	return runtime.ContainerSpec{
		ID:      id,
		Image:   testImage,
		Args:    mode,
		LogPath: filepath.Join(e.logDir, id+".log"),
		Labels:  map[string]string{runtime.LabelPodUID: "uid-" + id, runtime.LabelContainerName: "c"},
	}
}

// run creates and starts a container.
func (e *testEnv) run(spec runtime.ContainerSpec) {
	e.t.Helper()
	ctx := context.Background()
	if err := e.rt.CreateContainer(ctx, spec); err != nil {
		e.t.Fatalf("CreateContainer(%s): %v", spec.ID, err)
	}
	if err := e.rt.StartContainer(ctx, spec.ID); err != nil {
		e.t.Fatalf("StartContainer(%s): %v", spec.ID, err)
	}
}

// wait waits for the container to exit and returns its status.
func (e *testEnv) wait(id string) runtime.ContainerStatus {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := e.rt.WaitContainer(ctx, id)
	if err != nil {
		e.t.Fatalf("WaitContainer(%s): %v", id, err)
	}
	return st
}

// status returns the container's status.
func (e *testEnv) status(id string) runtime.ContainerStatus {
	e.t.Helper()
	st, err := e.rt.ContainerStatus(context.Background(), id)
	if err != nil {
		e.t.Fatalf("ContainerStatus(%s): %v", id, err)
	}
	return st
}

// logText returns what the container has written so far, as ReadLogs gives
// it.
func (e *testEnv) logText(id string) string {
	e.t.Helper()
	var buf bytes.Buffer
	if err := logs.ReadLogs(context.Background(), filepath.Join(e.logDir, id+".log"), logs.ReadOptions{}, &buf); err != nil {
		e.t.Fatalf("ReadLogs(%s): %v", id, err)
	}
	return buf.String()
}

// waitLog waits until the container's log holds want.
func (e *testEnv) waitLog(id, want string) {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(e.logText(id), want) {
		if time.Now().After(deadline) {
			e.t.Fatalf("log of %s never showed %q; it holds:\n%s", id, want, e.logText(id))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestContainers runs every containerd test as a subtest on one daemon.
func TestContainers(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, e *testEnv)
	}{
		{"RunsAndReportsRunning", testRunsAndReportsRunning},
		{"EnvArgsAndWorkingDir", testEnvArgsAndWorkingDir},
		{"CommandReplacesEntrypoint", testCommandReplacesEntrypoint},
		{"ExitCodeRecorded", testExitCodeRecorded},
		{"StartErrorRecorded", testStartErrorRecorded},
		{"StopDeliversSIGTERM", testStopDeliversSIGTERM},
		{"StopKillsAfterGrace", testStopKillsAfterGrace},
		{"OOMKilled", testOOMKilled},
		{"CgroupLimits", testCgroupLimits},
		{"UserAndReadOnlyRootFS", testUserAndReadOnlyRootFS},
		{"SharedNamespaces", testSharedNamespaces},
		{"Exec", testExec},
		{"LogsWhileRunning", testLogsWhileRunning},
		{"LogRotation", testLogRotation},
		{"RemoveLeavesNothing", testRemoveLeavesNothing},
		{"ListByPodUID", testListByPodUID},
		{"RestartedRuntimeAdopts", testRestartedRuntimeAdopts},
		{"EnsureImage", testEnsureImage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := *e
			sub.t = t
			tc.fn(t, &sub)
		})
	}
}

func testRunsAndReportsRunning(t *testing.T, e *testEnv) {
	before := time.Now()
	e.run(e.spec("running", "sleep"))
	st := e.status("running")
	if st.State != runtime.StateRunning {
		t.Fatalf("state = %s, want Running", st.State)
	}
	if st.Pid == 0 {
		t.Errorf("running container has no pid")
	}
	if st.StartedAt.Before(before.Add(-time.Second)) || !st.FinishedAt.IsZero() {
		t.Errorf("startedAt %v, finishedAt %v; want a start after %v and no finish", st.StartedAt, st.FinishedAt, before)
	}
	if st.Image != testImage || !strings.HasPrefix(st.ImageID, "sha256:") {
		t.Errorf("image %q id %q", st.Image, st.ImageID)
	}
	if st.Labels[runtime.LabelPodUID] != "uid-running" || len(st.Labels) != 2 {
		t.Errorf("labels = %v, want the two given", st.Labels)
	}
	if _, err := os.Stat(filepath.Join(e.d.RuncRoot(), "berth", "running", "state.json")); err != nil {
		t.Errorf("runc keeps no state in the daemon's own directory: %v", err)
	}
	if err := e.rt.StartContainer(context.Background(), "running"); err == nil {
		t.Errorf("a second StartContainer succeeded")
	}
}

func testEnvArgsAndWorkingDir(t *testing.T, e *testEnv) {
	spec := e.spec("facts", "print", "a b", "c")
	spec.Env = []string{"GREETING=hello world", "FROM_IMAGE=overridden"}
	spec.WorkingDir = "/tmp"
	e.run(spec)
	st := e.wait("facts")
	if st.State != runtime.StateExited || st.ExitCode != 0 || st.Reason != runtime.ReasonCompleted {
		t.Fatalf("status = %+v, want Exited 0 Completed", st)
	}
	out := e.logText("facts")
	for _, want := range []string{"args=print,a b,c\n", "env GREETING=hello world\n", "env FROM_IMAGE=overridden\n", "env PATH=/\n", "cwd=/tmp\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func testCommandReplacesEntrypoint(t *testing.T, e *testEnv) {
	spec := e.spec("command")
	spec.Command = []string{"/testprog", "echo"}
	spec.Args = []string{"from", "command"}
	e.run(spec)
	e.wait("command")
	if out := e.logText("command"); out != "from command\n" {
		t.Errorf("output = %q, want %q", out, "from command\n")
	}
}

func testExitCodeRecorded(t *testing.T, e *testEnv) {
	e.run(e.spec("exit3", "exit", "3"))
	st := e.wait("exit3")
	if st.State != runtime.StateExited || st.ExitCode != 3 || st.Reason != runtime.ReasonError || st.OOMKilled {
		t.Fatalf("status = %+v, want Exited 3 Error", st)
	}
	if st.FinishedAt.Before(st.StartedAt) || st.StartedAt.IsZero() {
		t.Errorf("startedAt %v finishedAt %v", st.StartedAt, st.FinishedAt)
	}
	// The exit is kept in the container: the task is gone, the status stays.
	if _, err := e.d.Client().TaskService().Get(namespaced(), &tasks.GetRequest{ContainerID: "exit3"}); !errdefs.IsNotFound(errdefs.FromGRPC(err)) {
		t.Errorf("the exited container's task is still there: %v", err)
	}
	if diff := cmp.Diff(st, e.status("exit3")); diff != "" {
		t.Errorf("status changed on a second look (-first +second):\n%s", diff)
	}
}

func testStartErrorRecorded(t *testing.T, e *testEnv) {
	spec := e.spec("nocommand")
	spec.Command = []string{"/does-not-exist"}
	ctx := context.Background()
	if err := e.rt.CreateContainer(ctx, spec); err != nil {
		t.Fatal(err)
	}
	err := e.rt.StartContainer(ctx, "nocommand")
	if err == nil {
		t.Fatal("StartContainer of a missing command succeeded")
	}
	st := e.status("nocommand")
	if st.State != runtime.StateExited || st.ExitCode != 128 || st.Reason != runtime.ReasonStartError || !strings.Contains(st.Message, "does-not-exist") {
		t.Errorf("status = %+v, want Exited 128 StartError naming the command", st)
	}
}

func testStopDeliversSIGTERM(t *testing.T, e *testEnv) {
	shared := t.TempDir()
	spec := e.spec("trap", "trap", "/shared")
	spec.Mounts = []runtime.Mount{{HostPath: shared, ContainerPath: "/shared"}}
	e.run(spec)
	e.waitLog("trap", "ready\n")
	if err := e.rt.StopContainer(context.Background(), "trap", time.Minute); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(shared, "terminated"))
	if err != nil || string(got) != "SIGTERM\n" {
		t.Errorf("marker file: %q, %v; want the container to have recorded SIGTERM", got, err)
	}
	if st := e.status("trap"); st.State != runtime.StateExited || st.ExitCode != 0 {
		t.Errorf("status = %+v, want Exited 0", st)
	}
}

func testStopKillsAfterGrace(t *testing.T, e *testEnv) {
	e.run(e.spec("stubborn", "ignore"))
	e.waitLog("stubborn", "ready\n") // SIGTERM is ignored from here on
	if err := e.rt.StopContainer(context.Background(), "stubborn", 300*time.Millisecond); err != nil {
		t.Fatalf("StopContainer: %v", err)
	}
	st := e.status("stubborn")
	if st.State != runtime.StateExited || st.ExitCode != 128+int(syscall.SIGKILL) || st.OOMKilled {
		t.Errorf("status = %+v, want Exited 137, not OOMKilled", st)
	}
	// Stopping again, and stopping a container never started, do nothing.
	if err := e.rt.StopContainer(context.Background(), "stubborn", time.Second); err != nil {
		t.Errorf("second StopContainer: %v", err)
	}
}

func testOOMKilled(t *testing.T, e *testEnv) {
	spec := e.spec("hog", "oom")
	spec.MemoryLimit = 32 << 20
	e.run(spec)
	st := e.wait("hog")
	if !st.OOMKilled || st.ExitCode != 137 || st.Reason != runtime.ReasonOOMKilled {
		t.Errorf("status = %+v, want OOMKilled with exit code 137", st)
	}
}

func testCgroupLimits(t *testing.T, e *testEnv) {
	spec := e.spec("limited", "sleep")
	spec.MemoryLimit = 64 << 20
	spec.CPUShares = 512
	spec.CPUQuota = 50000
	e.run(spec)
	defer e.rt.RemoveContainer(context.Background(), "limited")
	for file, want := range map[string]string{
		"/sys/fs/cgroup/memory/berth/limited/memory.limit_in_bytes": "67108864",
		"/sys/fs/cgroup/cpu/berth/limited/cpu.shares":               "512",
		"/sys/fs/cgroup/cpu/berth/limited/cpu.cfs_quota_us":         "50000",
		"/sys/fs/cgroup/cpu/berth/limited/cpu.cfs_period_us":        "100000",
	} {
		got, err := os.ReadFile(file)
		if errors.Is(err, os.ErrNotExist) {
			t.Skipf("%s: not a cgroup v1 host", file)
		}
		if err != nil || strings.TrimSpace(string(got)) != want {
			t.Errorf("%s = %q, %v; want %s", file, got, err, want)
		}
	}
}

func testUserAndReadOnlyRootFS(t *testing.T, e *testEnv) {
	uid, gid := int64(1000), int64(2000)
	spec := e.spec("user", "print")
	spec.RunAsUser, spec.RunAsGroup = &uid, &gid
	spec.ReadOnlyRootFS = true
	e.run(spec)
	e.wait("user")
	out := e.logText("user")
	for _, want := range []string{"uid=1000 gid=2000\n", "rootfs-writable=false\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	e.run(e.spec("root", "print"))
	e.wait("root")
	if out := e.logText("root"); !strings.Contains(out, "uid=0 gid=0\n") || !strings.Contains(out, "rootfs-writable=true\n") {
		t.Errorf("default container output:\n%s", out)
	}
}

func testSharedNamespaces(t *testing.T, e *testEnv) {
	pod := pinNamespaces(t, "pod-host")
	for _, id := range []string{"member1", "member2"} {
		spec := e.spec(id, "print")
		spec.NetNSPath, spec.IPCNSPath, spec.UTSNSPath = pod.net, pod.ipc, pod.uts
		e.run(spec)
	}
	e.run(e.spec("loner", "print"))
	facts := map[string]map[string]string{}
	for _, id := range []string{"member1", "member2", "loner"} {
		e.wait(id)
		facts[id] = parseFacts(e.logText(id))
	}
	for _, id := range []string{"member1", "member2"} {
		f := facts[id]
		if f["hostname"] != "pod-host" {
			t.Errorf("%s: hostname %q, want the pod's pod-host", id, f["hostname"])
		}
		for ns, want := range map[string]string{"net": pod.netID, "ipc": pod.ipcID, "uts": pod.utsID} {
			if f["ns "+ns] != want {
				t.Errorf("%s: %s namespace %s, want the pod's %s", id, ns, f["ns "+ns], want)
			}
		}
	}
	host := hostNamespaces(t)
	for _, ns := range []string{"net", "ipc", "uts"} {
		got := facts["loner"]["ns "+ns]
		if got == pod.ids()[ns] || got == host[ns] || got == "" {
			t.Errorf("loner: %s namespace %s; want a new one, neither the pod's nor the host's", ns, got)
		}
	}
}

func testExec(t *testing.T, e *testEnv) {
	ctx := context.Background()
	e.run(e.spec("exec", "sleep"))
	code, out, err := e.rt.Exec(ctx, "exec", []string{"/testprog", "echo", "hello", "exec"}, 10*time.Second)
	if err != nil || code != 0 || string(out) != "hello exec\n" {
		t.Errorf("Exec echo = %d, %q, %v; want 0, %q", code, out, err, "hello exec\n")
	}
	code, _, err = e.rt.Exec(ctx, "exec", []string{"/testprog", "exit", "7"}, 10*time.Second)
	if err != nil || code != 7 {
		t.Errorf("Exec exit 7 = %d, %v; want 7", code, err)
	}
	_, _, err = e.rt.Exec(ctx, "exec", []string{"/testprog", "sleep"}, 300*time.Millisecond)
	if !errors.Is(err, runtime.ErrExecTimeout) {
		t.Errorf("Exec past its timeout: %v, want ErrExecTimeout", err)
	}
	if _, _, err := e.rt.Exec(ctx, "exec", []string{"/no-such-program"}, 10*time.Second); err == nil {
		t.Errorf("Exec of a missing program succeeded")
	}
	if err := e.rt.StopContainer(ctx, "exec", 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.rt.Exec(ctx, "exec", []string{"/testprog", "echo"}, 10*time.Second); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("Exec in an exited container: %v, want ErrNotRunning", err)
	}
}

func testLogsWhileRunning(t *testing.T, e *testEnv) {
	e.run(e.spec("chatter", "chatter"))
	e.waitLog("chatter", "hello stderr\n")
	e.waitLog("chatter", "hello stdout\n")
	raw, err := os.ReadFile(filepath.Join(e.logDir, "chatter.log"))
	if err != nil {
		t.Fatal(err)
	}
	format := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout F hello stdout|stderr F hello stderr)$`)
	for line := range strings.Lines(string(raw)) {
		if !format.MatchString(strings.TrimSuffix(line, "\n")) {
			t.Errorf("log line %q is not in the CRI format", line)
		}
	}
	if st := e.status("chatter"); st.State != runtime.StateRunning {
		t.Errorf("state %s, want Running", st.State)
	}
}

func testLogRotation(t *testing.T, e *testEnv) {
	spec := e.spec("rotating", "lines", "1000")
	spec.LogMaxSize = 4096
	e.run(spec)
	e.wait("rotating")
	path := filepath.Join(e.logDir, "rotating.log")
	for _, p := range []string{path, path + ".1"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Size() > 4096 || fi.Size() == 0 {
			t.Errorf("%s: %v, %v; want a file of at most 4096 bytes", p, fi, err)
		}
	}
	if _, err := os.Stat(path + ".2"); !os.IsNotExist(err) {
		t.Errorf("more than one rotated file kept: %v", err)
	}
	var buf bytes.Buffer
	tail := int64(2)
	if err := logs.ReadLogs(context.Background(), path, logs.ReadOptions{TailLines: &tail}, &buf); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "line 998\nline 999\n" {
		t.Errorf("last two lines: %q", got)
	}
}

func testRemoveLeavesNothing(t *testing.T, e *testEnv) {
	ctx := context.Background()
	e.run(e.spec("doomed", "sleep"))
	if err := e.rt.RemoveContainer(ctx, "doomed"); err != nil {
		t.Fatalf("RemoveContainer: %v", err)
	}
	client := e.d.Client()
	if _, err := client.ContainerService().Get(namespaced(), "doomed"); !errdefs.IsNotFound(err) {
		t.Errorf("container still there: %v", err)
	}
	if _, err := client.TaskService().Get(namespaced(), &tasks.GetRequest{ContainerID: "doomed"}); !errdefs.IsNotFound(errdefs.FromGRPC(err)) {
		t.Errorf("task still there: %v", err)
	}
	if _, err := client.SnapshotService("overlayfs").Stat(namespaced(), "doomed"); !errdefs.IsNotFound(err) {
		t.Errorf("snapshot still there: %v", err)
	}
	if _, err := e.rt.ContainerStatus(ctx, "doomed"); !errors.Is(err, runtime.ErrContainerNotFound) {
		t.Errorf("status of a removed container: %v, want ErrContainerNotFound", err)
	}
	if err := e.rt.RemoveContainer(ctx, "doomed"); err != nil {
		t.Errorf("removing again: %v", err)
	}
}

func testListByPodUID(t *testing.T, e *testEnv) {
	ctx := context.Background()
	for _, c := range []struct{ id, uid, name string }{
		{"pod-a-1", "uid-a", "one"}, {"pod-a-2", "uid-a", "two"}, {"pod-b-1", "uid-b", "one"},
	} {
		spec := e.spec(c.id, "sleep")
		spec.Labels = map[string]string{runtime.LabelPodUID: c.uid, runtime.LabelContainerName: c.name, runtime.LabelAttempt: "0"}
		if err := e.rt.CreateContainer(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	list, err := e.rt.ListContainers(ctx, map[string]string{runtime.LabelPodUID: "uid-a"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range list {
		got = append(got, c.ID+"/"+c.Labels[runtime.LabelContainerName])
		if len(c.Labels) != 3 {
			t.Errorf("%s: labels %v, want only the three given", c.ID, c.Labels)
		}
	}
	if want := []string{"pod-a-1/one", "pod-a-2/two"}; !slices.Equal(got, want) {
		t.Errorf("ListContainers(uid-a) = %v, want %v", got, want)
	}
	list, err = e.rt.ListContainers(ctx, map[string]string{runtime.LabelPodUID: "uid-a", runtime.LabelContainerName: "two"})
	if err != nil || len(list) != 1 || list[0].ID != "pod-a-2" {
		t.Errorf("ListContainers(uid-a, two) = %+v, %v", list, err)
	}
	if st := e.status("pod-b-1"); st.State != runtime.StateCreated {
		t.Errorf("created container's state = %s, want Created", st.State)
	}
}

func testRestartedRuntimeAdopts(t *testing.T, e *testEnv) {
	ctx := context.Background()
	first := e.newRuntime()
	e.rt = first // e is this subtest's copy
	spec := e.spec("survivor", "chatter")
	spec.Labels[runtime.LabelPodUID] = "uid-survivor"
	e.run(spec)
	e.waitLog("survivor", "hello stdout\n")
	before := e.status("survivor")
	first.Close() // the kubelet goes away; the container keeps running

	rt := e.newRuntime()
	list, err := rt.ListContainers(ctx, map[string]string{runtime.LabelPodUID: "uid-survivor"})
	if err != nil || len(list) != 1 || list[0].ID != "survivor" {
		t.Fatalf("restarted runtime lists %+v, %v; want the survivor", list, err)
	}
	after, err := rt.ContainerStatus(ctx, "survivor")
	if err != nil {
		t.Fatal(err)
	}
	if after.State != runtime.StateRunning || !after.StartedAt.Equal(before.StartedAt) || after.Pid != before.Pid {
		t.Errorf("after restart: %+v; before: %+v; want the same running container", after, before)
	}
	// Its log driver outlived the kubelet's runtime, and stops with the container.
	if err := rt.StopContainer(ctx, "survivor", 0); err != nil {
		t.Fatal(err)
	}
	if st, _ := rt.ContainerStatus(ctx, "survivor"); st.State != runtime.StateExited || st.ExitCode != 137 {
		t.Errorf("after stop: %+v", st)
	}
	if out := e.logText("survivor"); out != "hello stdout\nhello stderr\n" && out != "hello stderr\nhello stdout\n" {
		t.Errorf("log = %q", out)
	}
}

func testEnsureImage(t *testing.T, e *testEnv) {
	ctx := context.Background()
	id, err := e.rt.EnsureImage(ctx, testImage, corev1.PullNever)
	if err != nil || !strings.HasPrefix(id, "sha256:") {
		t.Errorf("EnsureImage(present, Never) = %q, %v", id, err)
	}
	if id2, err := e.rt.EnsureImage(ctx, "berth.test/testprog:v1", corev1.PullIfNotPresent); err != nil || id2 != id {
		t.Errorf("EnsureImage(present, IfNotPresent) = %q, %v; want %q", id2, err, id)
	}
	_, err = e.rt.EnsureImage(ctx, "berth.test/missing:v1", corev1.PullNever)
	if !errors.Is(err, runtime.ErrImageNotPresent) {
		t.Errorf("EnsureImage(missing, Never): %v, want ErrImageNotPresent", err)
	}
	// Port 1 on the loopback: nothing listens, nothing leaves the machine.
	ref := "127.0.0.1:1/missing:v1"
	_, err = e.rt.EnsureImage(ctx, ref, corev1.PullIfNotPresent)
	if !errors.Is(err, runtime.ErrImagePull) || !strings.Contains(err.Error(), ref) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("EnsureImage(unreachable registry): %v, want ErrImagePull naming %s and why", err, ref)
	}
	err = e.rt.CreateContainer(ctx, runtime.ContainerSpec{ID: "noimage", Image: "berth.test/missing:v1"})
	if !errors.Is(err, runtime.ErrImageNotPresent) {
		t.Errorf("CreateContainer without its image: %v, want ErrImageNotPresent", err)
	}
}

// parseFacts parses the output of testprog print: "key=value" lines.
func parseFacts(out string) map[string]string {
	facts := map[string]string{}
	for line := range strings.Lines(out) {
		k, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		if ok {
			facts[k] = v
		}
	}
	return facts
}

// hostNamespaces returns the test process's own namespaces, as
// /proc/self/ns links read ("net:[4026531840]").
func hostNamespaces(t *testing.T) map[string]string {
	ids := map[string]string{}
	for _, ns := range []string{"net", "ipc", "uts"} {
		link, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			t.Fatal(err)
		}
		ids[ns] = link
	}
	return ids
}
