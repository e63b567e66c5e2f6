// Command bench measures berth's API server against raw etcd and prints a Markdown
// table. Every figure stands beside a baseline measured in the same process, on the
// same embedded etcd, with the same client parallelism, so the ratio is what berth
// adds on top of etcd on this machine. It asserts nothing about timing.
//
//	go run ./bench                       # full run (make bench)
//	go run ./bench -quick                # small sizes, under a minute (CI smoke run)
//	go run ./bench -cpuprofile cpu.prof  # also profile each figure's berth phase
//
// The API server runs in this process, so benchmark clients and server share the
// CPUs. Goroutines of the server (and its embedded etcd) carry the pprof label
// side=server; see only them with
//
//	go tool pprof -tagfocus=side=server -top cpu.creates.prof
//
// The sync figures run the GitSource controller in this process too, against a git
// repository in a temp dir; its goroutines carry side=sync, and their baselines are
// client-go creates, lists and watches of the same objects rather than etcd.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/internal/testserver"
)

// sizes are the workload sizes of a run.
type sizes struct {
	creates   int // objects created per create series
	clients   int // parallel clients for creates
	pods      int // pods listed
	listIters int // timed lists per variant
	watchers  int // concurrent watches
	updates   int // updates each watcher sees
	conns     int // HTTP/2 connections (and etcd clients) the watches spread over
	// spacing is the time between updates. Each update costs every watcher a
	// decode in this process (client-go's is ~0.1 ms of CPU): 1000 watchers with
	// an update every 10 ms would saturate two cores and measure only the queue.
	spacing    time.Duration
	watchObjs  int           // objects the updates cycle through
	warmupOps  int           // untimed operations before each timed series
	maxSettle  time.Duration // how long after the last update watchers may still deliver
	podClients int           // parallel clients creating the pods to list
	// The GitSource sync: objects in the repository, the files they are spread over,
	// no-op resyncs timed and one-object commits timed through the webhook. Each
	// commit costs two full syncs of the repository (see commitLatency), about 10 s
	// at 10,000 objects on two cores, which bounds syncCommits in a full run.
	syncObjects, syncFiles, syncResyncs, syncCommits int
}

var (
	fullSizes = sizes{
		creates: 5000, clients: 16, pods: 10000, listIters: 5,
		watchers: 1000, updates: 200, conns: 10, spacing: 100 * time.Millisecond, watchObjs: 10,
		warmupOps: 100, maxSettle: 30 * time.Second, podClients: 32,
		syncObjects: 10000, syncFiles: 500, syncResyncs: 3, syncCommits: 10,
	}
	quickSizes = sizes{
		creates: 500, clients: 16, pods: 1000, listIters: 3,
		watchers: 100, updates: 50, conns: 10, spacing: 25 * time.Millisecond, watchObjs: 10,
		warmupOps: 50, maxSettle: 15 * time.Second, podClients: 32,
		syncObjects: 1000, syncFiles: 50, syncResyncs: 3, syncCommits: 10,
	}
)

// row is one line of the result table.
type row struct{ figure, berth, baseline, ratio, notes string }

// bench holds the server under test and the rows measured so far.
type bench struct {
	ts      *testserver.Server
	sz      sizes
	profile string // -cpuprofile: FILE, written per phase as FILE with the phase before its extension
	rows    []row
	logf    func(format string, args ...any)
}

func main() {
	quick := flag.Bool("quick", false, "small sizes, so that the run takes under a minute")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of each figure's berth phase to `FILE` "+
		"(cpu.prof becomes cpu.creates.prof, cpu.list.prof, cpu.watch.prof, cpu.sync.prof, cpu.resync.prof)")
	only := flag.String("only", "", "comma-separated figures to run (creates, list, watch, sync, scheduler, rollout, podstart, kubeproxy, dns, pushtorun, nodeloss); empty runs all")
	flag.Parse()
	if err := run(*quick, *cpuprofile, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(quick bool, profile, only string) error {
	sz := fullSizes
	if quick {
		sz = quickSizes
	}
	dir, err := os.MkdirTemp("", "berth-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	start, load0 := time.Now(), loadAvg()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[%5.1fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	// Goroutines started by the server inherit this label, which tells server frames
	// from the benchmark's own client frames in a profile.
	var ts *testserver.Server
	pprof.Do(context.Background(), pprof.Labels("side", "server"), func(context.Context) {
		// A /12 of pod CIDRs: room for the rollout figure's 1,000 hollow nodes.
		ts, err = testserver.Run(apiserver.Options{DataDir: dir, ClusterCIDR: "10.64.0.0/12"})
	})
	if err != nil {
		return fmt.Errorf("start API server: %w", err)
	}
	defer ts.Stop()
	logf("API server ready, data in %s", dir)

	b := &bench{ts: ts, sz: sz, profile: profile, logf: logf}
	ctx := context.Background()
	for _, fig := range []struct {
		name string
		run  func(context.Context) error
	}{{"creates", b.creates}, {"list", b.list}, {"watch", b.watch}, {"sync", b.gitSync}, {"scheduler", b.scheduler}, {"rollout", b.rollout}, {"podstart", b.podStart},
		{"kubeproxy", b.kubeProxy}, {"dns", b.dnsQueries}, {"pushtorun", b.pushToRun}, {"nodeloss", b.nodeLoss}} {
		if only != "" && !slices.Contains(strings.Split(only, ","), fig.name) {
			continue
		}
		if err := fig.run(ctx); err != nil {
			return fmt.Errorf("%s: %w", fig.name, err)
		}
		runtime.GC()
	}

	mode := "full"
	if quick {
		mode = "quick"
	}
	fmt.Printf("## berth benchmarks, each beside a baseline (%s run)\n\n", mode)
	fmt.Printf("GOMAXPROCS=%d, NumCPU=%d, %s %s/%s; load average %s at start, %s at end; embedded etcd in %s; "+
		"server and clients share the process; \"CPU\" is this process's user+system time per operation\n\n",
		runtime.GOMAXPROCS(0), runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH, load0, loadAvg(), os.TempDir())
	printTable(b.rows)
	logf("done")
	return nil
}

// add appends a row whose ratio is berth/baseline.
func (b *bench) add(figure, berth, baseline string, ratio float64, notes string) {
	r := "—"
	if ratio > 0 {
		r = fmt.Sprintf("%.2f×", ratio)
	}
	b.rows = append(b.rows, row{figure, berth, baseline, r, notes})
}

func printTable(rows []row) {
	fmt.Println("| figure | berth | baseline | ratio | notes |")
	fmt.Println("|---|---:|---:|---:|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s | %s | %s |\n", r.figure, r.berth, r.baseline, r.ratio, r.notes)
	}
}

// profiled runs fn under a CPU profile when -cpuprofile is set.
func (b *bench) profiled(phase string, fn func() error) error {
	if b.profile == "" {
		return fn()
	}
	ext := filepath.Ext(b.profile)
	path := strings.TrimSuffix(b.profile, ext) + "." + phase + ext
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	err = fn()
	pprof.StopCPUProfile()
	b.logf("CPU profile of %s written to %s", phase, path)
	return err
}

// series is what a run of operations measured: each op's latency (in op order), the
// wall time and the CPU time the whole process (clients and server) spent.
type series struct {
	lat       []time.Duration
	wall, cpu time.Duration
}

// plus pools two series of the same operation.
func (s series) plus(o series) series {
	return series{lat: append(slices.Clone(s.lat), o.lat...), wall: s.wall + o.wall, cpu: s.cpu + o.cpu}
}

// parallel runs op(0) … op(n-1) on workers goroutines. It stops at the first error.
func parallel(ctx context.Context, workers, n int, op func(ctx context.Context, i int) error) (series, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := series{lat: make([]time.Duration, n)}
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), cpuTime()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t := time.Now()
				if err := op(ctx, i); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("op %d: %w", i, err); cancel() })
					return
				}
				s.lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	s.wall, s.cpu = time.Since(start), cpuTime()-cpu0
	return s, firstErr
}

// cpuTime returns the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAvg returns the 1-minute load average, or "?" where /proc/loadavg is missing.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// perOp formats a CPU time per operation.
func perOp(cpu time.Duration, n int) string {
	d := cpu / time.Duration(max(n, 1))
	if d >= 10*time.Millisecond {
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// sorted returns a sorted copy of ds.
func sorted(ds []time.Duration) []time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func rate(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// createNamespace creates a namespace for one figure.
func (b *bench) createNamespace(ctx context.Context, name string) error {
	_, err := b.ts.Client.CoreV1().Namespaces().Create(ctx,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	return nil
}
