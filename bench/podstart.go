package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	containerd "github.com/containerd/containerd"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/oci"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/kubelet/network"
	"github.com/berth-dev/berth/kubelet/runtime"
)

const (
	podStartPods   = 20                         // pods started at once, and ctr runs of the baseline
	podStartNode   = "bench-node"               // the agent's Node
	podStartImage  = "berth.dev/testbox:latest" // the image of pods and baseline containers
	podStartNS     = "bench-podstart"           // the pods' Kubernetes namespace
	ctrNamespace   = "bench-ctr"                // the baseline's containerd namespace
	podStartWait   = 3 * time.Minute            // bound of every wait of the figure
	kubeletMemNote = "Kubernetes' node e2e limit for the kubelet: 50 MiB of the cgroup's rss, which is anonymous memory (issue 6's reference, not measured here)"
)

// podStart measures the kubelet: the latency from creating a pod already bound to
// the node to its Ready condition, for podStartPods pods created at once, beside the
// same number of `ctr run -d` of the same image on the same containerd; and the
// resident memory of the `berth agent` process running them, beside the same process
// with no pods. It needs root, containerd, runc, the CNI plugins, a static busybox
// (for the test image) and iptables; without them it logs why and adds no row.
func (b *bench) podStart(ctx context.Context) error {
	if why := podStartMissing(); why != "" {
		b.logf("podstart: skipped: %s", why)
		return nil
	}
	w, err := b.newNodeWork("podstart")
	if err != nil {
		return err
	}
	defer w.close()
	dir, netns := w.dir, w.netns
	agentDir := filepath.Join(dir, "agent")

	b.logf("podstart: building bin/berth and the test images")
	imagesDir := filepath.Join(agentDir, "images") // the kubelet imports what is here
	berthBin, err := buildBerth(ctx, dir, imagesDir, "testbox")
	if err != nil {
		return err
	}

	ctd, err := runtime.StartDaemon(ctx, runtime.DaemonOptions{Dir: filepath.Join(dir, "containerd"), Logger: quietLogger()})
	if err != nil {
		return err
	}
	w.onClose(func() {
		kctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := runtime.KillAllTasks(kctx, ctd.Address())
		cancel()
		if err != nil {
			b.logf("podstart: kill containerd tasks: %v", err)
		}
		ctd.Stop()
	})
	client, err := containerd.New(ctd.Address())
	if err != nil {
		return fmt.Errorf("containerd client: %w", err)
	}
	w.onClose(func() { client.Close() })

	b.logf("podstart: baseline, %d containers of %s run at once through the containerd client", podStartPods, podStartImage)
	base, err := ctrRuns(ctx, client, filepath.Join(imagesDir, "testbox.tar"))
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}

	b.logf("podstart: berth agent on node namespace %s", netns)
	agent, err := startAgent(berthBin, b.ts.KubeconfigPath(auth.RoleNode), agentDir, ctd.Address(), "/run/netns/"+netns)
	if err != nil {
		return err
	}
	w.onClose(func() {
		agent.stop()
		entries, _ := os.ReadDir(filepath.Join(agentDir, "netns"))
		for _, e := range entries {
			if err := network.NamespacePaths(filepath.Join(agentDir, "netns"), e.Name()).Remove(); err != nil {
				b.logf("podstart: remove pinned namespaces: %v", err)
			}
		}
	})
	if err := b.waitNodeAndImage(ctx, client, agent); err != nil {
		return err
	}
	time.Sleep(2 * time.Second) // let the agent settle after its first sync
	mem0, err := readProcMem(agent.cmd.Process.Pid)
	if err != nil {
		return err
	}

	if err := b.createNamespace(ctx, podStartNS); err != nil {
		return err
	}
	w.onClose(func() { b.removeBenchPods(agent) })
	b.logf("podstart: %d pods bound to %s at once", podStartPods, podStartNode)
	var lat []time.Duration
	if err := b.profiled("podstart", func() error {
		lat, err = b.startPods(ctx, agent)
		return err
	}); err != nil {
		return err
	}
	time.Sleep(2 * time.Second)
	mem1, err := readProcMem(agent.cmd.Process.Pid)
	if err != nil {
		return err
	}

	p, q := sorted(lat), sorted(base)
	b.add(fmt.Sprintf("pod start, created bound to Ready (%d pods at once)", podStartPods),
		fmt.Sprintf("p50 %s, p99 %s", ms(percentile(p, 50)), ms(percentile(p, 99))),
		fmt.Sprintf("p50 %s, p99 %s", ms(percentile(q, 50)), ms(percentile(q, 99))),
		percentile(p, 99).Seconds()/percentile(q, 99).Seconds(),
		"testbox `sleep 3600`, no probe, imagePullPolicy Never; berth: `berth agent` process, from Create to the watch event with Ready=True, "+
			"sandbox, CNI (bridge) and status writes included; baseline: what `ctr run -d` does, through the containerd Go client "+
			"(NewContainer with a new snapshot, NewTask, Start; no CNI), as many at once, same containerd; ratio of p99s; Kubernetes' SLO: p99 ≤ 5 s")
	b.add(fmt.Sprintf("agent memory with %d pods running", podStartPods),
		mem1.String(), mem0.String(), float64(mem1.anon)/float64(mem0.anon),
		"the `berth agent` process alone (containerd, shims, log drivers and pods not counted); baseline: the same process with 0 pods; ratio of anon; "+
			"RSS also counts the pages of the 140 MB binary the kernel maps (with huge pages), shared with the log drivers; "+kubeletMemNote)
	return nil
}

// podStartMissing says what the figure lacks on this machine, or "".
func podStartMissing() string {
	if os.Geteuid() != 0 {
		return "needs root (containerd, network namespaces, CNI)"
	}
	var missing []string
	if err := runtime.CheckBinaries(); err != nil {
		missing = append(missing, err.Error())
	}
	for _, p := range []string{"bridge", "host-local", "loopback", "portmap"} {
		found := false
		for _, d := range network.DefaultPluginDirs {
			if _, err := os.Stat(filepath.Join(d, p)); err == nil {
				found = true
			}
		}
		if !found {
			missing = append(missing, "CNI plugin "+p+" (apt-get install containernetworking-plugins)")
		}
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		missing = append(missing, "/bin/busybox (apt-get install busybox-static)")
	}
	for _, bin := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	return strings.Join(missing, "; ")
}

// newBenchNode creates the node's network namespace: lo up, and an uplink eth0
// with 192.168.234.10/24 and a default route, a veth whose peer stays down inside
// the namespace, so nothing leaves it. Nothing is done in the machine's own
// namespace: every command is `ip -n NAME`. It returns the namespace's name.
func newBenchNode() (string, error) {
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("random namespace name: %w", err)
	}
	name := "berth-bench-" + hex.EncodeToString(r[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return "", fmt.Errorf("ip netns add %s: %w: %s", name, err, out)
	}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", "eth0", "type", "veth", "peer", "name", "deadend0"},
		{"addr", "add", "192.168.234.10/24", "dev", "eth0"},
		{"link", "set", "eth0", "up"},
		{"route", "add", "default", "via", "192.168.234.254", "dev", "eth0"},
	} {
		if out, err := exec.Command("ip", append([]string{"-n", name}, args...)...).CombinedOutput(); err != nil {
			_ = exec.Command("ip", "netns", "delete", name).Run()
			return "", fmt.Errorf("ip -n %s %s: %w: %s", name, strings.Join(args, " "), err, out)
		}
	}
	return name, nil
}

// ctrRuns imports the image tarball into a containerd namespace of its own and
// does what `ctr run -d IMAGE ID sleep 3600` does, podStartPods times at once:
// NewContainer with a new snapshot and the image's config, NewTask with no I/O,
// Start. Each latency runs from NewContainer to Start's return (the task
// running). Every container is deleted afterwards, with its snapshot.
func ctrRuns(ctx context.Context, client *containerd.Client, tarball string) ([]time.Duration, error) {
	ctx = namespaces.WithNamespace(ctx, ctrNamespace)
	f, err := os.Open(tarball)
	if err != nil {
		return nil, fmt.Errorf("open image tarball: %w", err)
	}
	imgs, err := client.Import(ctx, f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", tarball, err)
	}
	if len(imgs) == 0 {
		return nil, fmt.Errorf("import %s: no image in it", tarball)
	}
	img := containerd.NewImage(client, imgs[0])
	if err := img.Unpack(ctx, "overlayfs"); err != nil {
		return nil, fmt.Errorf("unpack %s: %w", img.Name(), err)
	}
	var mu sync.Mutex
	var made []containerd.Container
	defer func() {
		dctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), ctrNamespace), time.Minute)
		defer cancel()
		for _, c := range made {
			if t, err := c.Task(dctx, nil); err == nil {
				_, _ = t.Delete(dctx, containerd.WithProcessKill)
			}
			_ = c.Delete(dctx, containerd.WithSnapshotCleanup)
		}
	}()
	s, err := parallel(ctx, podStartPods, podStartPods, func(ctx context.Context, i int) error {
		id := fmt.Sprintf("ctr-run-%02d", i)
		c, err := client.NewContainer(ctx, id,
			containerd.WithImage(img),
			containerd.WithNewSnapshot(id+"-snapshot", img),
			containerd.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs("sleep", "3600")))
		if err != nil {
			return fmt.Errorf("new container %s: %w", id, err)
		}
		mu.Lock()
		made = append(made, c)
		mu.Unlock()
		t, err := c.NewTask(ctx, cio.NullIO)
		if err != nil {
			return fmt.Errorf("new task %s: %w", id, err)
		}
		if err := t.Start(ctx); err != nil {
			return fmt.Errorf("start task %s: %w", id, err)
		}
		return nil
	})
	return s.lat, err
}

// agentProc is a `berth agent` process.
type agentProc struct {
	cmd  *exec.Cmd
	log  string        // its output
	done chan struct{} // closed when it has exited
	err  error         // why; set before done is closed
}

// startAgent starts `berth agent` for node podStartNode on the given containerd.
func startAgent(bin, kubeconfig, dataDir, address, netns string) (*agentProc, error) {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("agent data dir: %w", err)
	}
	a := &agentProc{log: filepath.Join(filepath.Dir(dataDir), "agent.log"), done: make(chan struct{})}
	out, err := os.Create(a.log)
	if err != nil {
		return nil, fmt.Errorf("agent log: %w", err)
	}
	defer out.Close() // the child has its own descriptor
	a.cmd = exec.Command(bin, "agent", "--kubeconfig", kubeconfig, "--node-name", podStartNode,
		"--data-dir", dataDir, "--containerd-address", address, "--node-netns", netns, "--kubelet-addr", "127.0.0.1:0")
	a.cmd.Stdout, a.cmd.Stderr = out, out
	if err := a.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start berth agent: %w", err)
	}
	go func() { a.err = a.cmd.Wait(); close(a.done) }()
	return a, nil
}

// stop sends SIGTERM, then SIGKILL after 30 s, and waits for the exit.
func (a *agentProc) stop() {
	select {
	case <-a.done:
		return
	default:
	}
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	defer exec.Command("cp", a.log, "/tmp/agent-podstart.log").Run()
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		_ = a.cmd.Process.Kill()
		<-a.done
	}
}

// exited returns an error naming the agent's log when it has exited.
func (a *agentProc) exited() error {
	select {
	case <-a.done:
		return fmt.Errorf("berth agent exited: %v (log: %s)", a.err, a.log)
	default:
		return nil
	}
}

// waitNodeAndImage waits until the agent's Node is Ready and it has imported the
// test image into containerd.
func (b *bench) waitNodeAndImage(ctx context.Context, client *containerd.Client, a *agentProc) error {
	kctx := namespaces.WithNamespace(ctx, runtime.DefaultNamespace)
	deadline := time.Now().Add(podStartWait)
	for {
		if err := a.exited(); err != nil {
			return err
		}
		if n, err := b.ts.Client.CoreV1().Nodes().Get(ctx, podStartNode, metav1.GetOptions{}); err == nil {
			for _, c := range n.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					if _, err := client.GetImage(kctx, podStartImage); err == nil {
						return nil
					}
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %s not Ready with %s imported after %s (agent log: %s)", podStartNode, podStartImage, podStartWait, a.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startPods creates podStartPods pods bound to the node at once and returns, for
// each, the time from just before its Create to the watch event showing it Ready.
func (b *bench) startPods(ctx context.Context, a *agentProc) ([]time.Duration, error) {
	pods := b.ts.Client.CoreV1().Pods(podStartNS)
	w, err := pods.Watch(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("watch pods: %w", err)
	}
	defer w.Stop()
	var mu sync.Mutex
	created := map[string]time.Time{}
	grace := int64(1)
	errs := make(chan error, 1)
	go func() {
		_, err := parallel(ctx, podStartPods, podStartPods, func(ctx context.Context, i int) error {
			name := fmt.Sprintf("box-%02d", i)
			mu.Lock()
			created[name] = time.Now()
			mu.Unlock()
			_, err := pods.Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: podStartNS},
				Spec: corev1.PodSpec{
					NodeName:                      podStartNode,
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name: "box", Image: podStartImage, ImagePullPolicy: corev1.PullNever,
						Command: []string{"sleep", "3600"},
					}},
				},
			}, metav1.CreateOptions{})
			return err
		})
		errs <- err
	}()
	ready := map[string]time.Time{}
	timeout := time.After(podStartWait)
	for len(ready) < podStartPods {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return nil, errors.New("pod watch closed")
			}
			now := time.Now()
			if p, isPod := ev.Object.(*corev1.Pod); isPod && ev.Type == watch.Modified && podReady(p) {
				if _, seen := ready[p.Name]; !seen {
					ready[p.Name] = now
				}
			}
		case err := <-errs:
			if err != nil {
				return nil, fmt.Errorf("create pods: %w", err)
			}
		case <-timeout:
			if err := a.exited(); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("%d of %d pods Ready after %s (agent log: %s)", len(ready), podStartPods, podStartWait, a.log)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	lat := make([]time.Duration, 0, podStartPods)
	for name, t := range ready {
		lat = append(lat, t.Sub(created[name]))
	}
	return lat, nil
}

// podReady says whether the pod runs with its Ready condition True.
func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// removeBenchPods deletes the figure's pods and waits until the agent has removed
// them (containers, sandboxes, pod IPs), so that nothing is left to stop.
func (b *bench) removeBenchPods(a *agentProc) {
	ctx, cancel := context.WithTimeout(context.Background(), podStartWait)
	defer cancel()
	pods := b.ts.Client.CoreV1().Pods(podStartNS)
	if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		b.logf("podstart: delete pods: %v", err)
		return
	}
	for ctx.Err() == nil && a.exited() == nil {
		l, err := pods.List(ctx, metav1.ListOptions{})
		if err == nil && len(l.Items) == 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.logf("podstart: pods not all gone; the containerd cleanup kills what is left")
}

// procMem is a process's resident memory, in bytes.
type procMem struct {
	rss  int64 // VmRSS: every resident page mapped
	anon int64 // RssAnon: heap and stacks, the process's own
	file int64 // RssFile: mapped files, here mostly the berth binary's text
	pss  int64 // Pss: shared pages divided among the processes sharing them
}

func (m procMem) String() string {
	return fmt.Sprintf("anon %s (RSS %s, of which %s the mapped binary; PSS %s)", mb(m.anon), mb(m.rss), mb(m.file), mb(m.pss))
}

// readProcMem reads a process's memory from /proc/PID/status and
// /proc/PID/smaps_rollup.
func readProcMem(pid int) (procMem, error) {
	var m procMem
	for _, f := range []struct {
		file   string
		fields map[string]*int64
	}{
		{"status", map[string]*int64{"VmRSS:": &m.rss, "RssAnon:": &m.anon, "RssFile:": &m.file}},
		{"smaps_rollup", map[string]*int64{"Pss:": &m.pss}},
	} {
		data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + f.file)
		if err != nil {
			return m, fmt.Errorf("memory of process %d: %w", pid, err)
		}
		for line := range strings.SplitSeq(string(data), "\n") {
			fields := strings.Fields(line) // "Name: 12345 kB"
			if len(fields) != 3 || fields[2] != "kB" || f.fields[fields[0]] == nil {
				continue
			}
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				return m, fmt.Errorf("memory of process %d: %s: %w", pid, line, err)
			}
			*f.fields[fields[0]] = kb * 1024
		}
	}
	if m.rss == 0 {
		return m, fmt.Errorf("memory of process %d: no VmRSS", pid)
	}
	return m, nil
}
