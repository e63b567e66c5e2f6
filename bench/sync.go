package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/google/uuid"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
	"github.com/berth-dev/berth/apiserver/registry"
	gitsync "github.com/berth-dev/berth/sync"
)

// The namespaces of the sync figures: the repository declares syncNS and puts every
// object in it; the GitSource and its webhook secret live in sourceNS; the client-go
// baselines write the same objects to seqNS and parNS.
const (
	syncNS     = "bench-gitops"
	sourceNS   = "bench-sync"
	seqNS      = "bench-sync-seq"
	parNS      = "bench-sync-par"
	sourceName = "shop"
	hookSecret = "shop-webhook"
	hookToken  = "bench-webhook-token"
	// revisionKey is the ConfigMap key the latency commits change.
	revisionKey = "revision"
	// syncTimeout bounds every wait for the controller, so that a stuck sync fails
	// the run instead of hanging it.
	syncTimeout = 5 * time.Minute
)

// cleanGitSync deletes the Deployments, Services and ConfigMaps the sync figure
// wrote: the figures after it share the API server, and the controllers some of
// them run would otherwise start pods for thousands of its Deployments.
func (b *bench) cleanGitSync(ctx context.Context) {
	for _, ns := range []string{syncNS, seqNS, parNS} {
		for what, del := range map[string]func() error{
			"deployments": func() error {
				return b.ts.Client.AppsV1().Deployments(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
			},
			"configmaps": func() error {
				return b.ts.Client.CoreV1().ConfigMaps(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
			},
			"services": func() error {
				svcs, err := b.ts.Client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
				if err != nil {
					return err
				}
				for _, s := range svcs.Items {
					if err := b.ts.Client.CoreV1().Services(ns).Delete(ctx, s.Name, metav1.DeleteOptions{}); err != nil {
						return err
					}
				}
				return nil
			},
		} {
			if err := del(); err != nil {
				b.logf("sync: cleanup: delete the %s of %s: %v", what, ns, err)
			}
		}
	}
}

// gitSync measures the GitSource sync controller, run in this process against the
// API server, following a git repository in a temp dir: the first sync of
// b.sz.syncObjects objects, a resync that changes nothing, and the latency from a
// one-object commit (announced by a signed push webhook) to the change being
// visible through a watch. The baselines write, list and watch the same objects
// with client-go.
func (b *bench) gitSync(ctx context.Context) error {
	for _, ns := range []string{sourceNS, seqNS, parNS} {
		if err := b.createNamespace(ctx, ns); err != nil {
			return err
		}
	}
	defer b.cleanGitSync(context.WithoutCancel(ctx))
	dir, err := os.MkdirTemp("", "berth-bench-git-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	t := time.Now()
	repo, err := newManifestRepo(filepath.Join(dir, "repo"), b.sz.syncObjects, b.sz.syncFiles)
	if err != nil {
		return fmt.Errorf("git repository: %w", err)
	}
	first, err := repo.commitAll("shop: every app")
	if err != nil {
		return fmt.Errorf("git commit: %w", err)
	}
	b.logf("sync: %d objects in %d files committed in %s", repo.objects(), len(repo.files), time.Since(t).Round(time.Millisecond))

	// Baselines: the same objects, written by client-go one at a time and from
	// b.sz.clients clients at once.
	seq, err := b.createBaseline(ctx, repo, seqNS, 1)
	if err != nil {
		return fmt.Errorf("sequential creates: %w", err)
	}
	par, err := b.createBaseline(ctx, repo, parNS, b.sz.clients)
	if err != nil {
		return fmt.Errorf("parallel creates: %w", err)
	}

	// The controller and the webhook server run under a label of their own, so that
	// a profile tells them from the API server (side=server) and the benchmark.
	var ctrl *gitsync.Controller
	var hook *httptest.Server
	cctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	pprof.Do(ctx, pprof.Labels("side", "sync"), func(context.Context) {
		logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		if ctrl, err = gitsync.New(gitsync.Options{Config: b.ts.Config, DataDir: filepath.Join(dir, "data"), Logger: logger}); err != nil {
			return
		}
		go func() { done <- ctrl.Run(cctx) }()
		hook = httptest.NewServer(ctrl.WebhookHandler())
	})
	if err != nil {
		stop()
		return fmt.Errorf("start the sync controller: %w", err)
	}
	defer func() { hook.Close(); stop(); <-done }()

	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: hookSecret, Namespace: sourceNS}, Data: map[string][]byte{"token": []byte(hookToken)}}
	if _, err := b.ts.Client.CoreV1().Secrets(sourceNS).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("webhook secret: %w", err)
	}
	sw, err := b.watchSource(ctx)
	if err != nil {
		return err
	}
	defer sw.stop()

	initial, err := b.initialSync(ctx, repo, sw, first)
	if err != nil {
		return fmt.Errorf("initial sync: %w", err)
	}
	b.addInitial(repo, initial, seq, par)

	if err := b.noopResyncs(ctx, ctrl, sw, initial.status); err != nil {
		return fmt.Errorf("no-op resync: %w", err)
	}
	if err := b.commitLatency(ctx, repo, sw, hook.URL); err != nil {
		return fmt.Errorf("commit to API latency: %w", err)
	}
	return nil
}

// syncRun is what one timed sync took, as seen from outside, and the status the
// controller wrote at its end.
type syncRun struct {
	wall, cpu time.Duration
	status    *berthv1.GitSourceStatus
	size      int // bytes of the GitSource's JSON, status included
}

// initialSync creates the GitSource and waits until it has applied rev.
func (b *bench) initialSync(ctx context.Context, repo *manifestRepo, sw *sourceWatch, rev plumbing.Hash) (syncRun, error) {
	gs := &berthv1.GitSource{
		TypeMeta:   metav1.TypeMeta{APIVersion: berthv1.SchemeGroupVersion.String(), Kind: "GitSource"},
		ObjectMeta: metav1.ObjectMeta{Name: sourceName, Namespace: sourceNS},
		Spec: berthv1.GitSourceSpec{
			URL: repo.dir, Branch: "main", Path: ".",
			// Long, so that only the first sync and the benchmark's triggers run.
			Interval:         &metav1.Duration{Duration: time.Hour},
			WebhookSecretRef: &berthv1.LocalObjectReference{Name: hookSecret},
		},
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(gs)
	if err != nil {
		return syncRun{}, err
	}
	var run syncRun
	b.logf("sync: initial sync of %d objects", repo.objects())
	err = b.profiled("sync", func() error {
		start, cpu0 := time.Now(), cpuTime()
		if _, err := sw.res.Create(ctx, &unstructured.Unstructured{Object: m}, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create GitSource: %w", err)
		}
		st, at, err := sw.wait(ctx, applied(rev))
		if err != nil {
			return err
		}
		run = syncRun{wall: at.Sub(start), cpu: cpuTime() - cpu0, status: st}
		return nil
	})
	if err != nil {
		return run, err
	}
	u, err := sw.res.Get(ctx, sourceName, metav1.GetOptions{})
	if err != nil {
		return run, err
	}
	data, err := u.MarshalJSON()
	if err != nil {
		return run, err
	}
	run.size = len(data)
	b.logf("sync: initial sync took %s: %s", run.wall.Round(time.Millisecond), run.status.Message)
	return run, nil
}

// addInitial adds the rows of the initial sync.
func (b *bench) addInitial(repo *manifestRepo, run syncRun, seq, par series) {
	n := repo.objects()
	stages := stagesOf(run.status)
	perObj := func(d time.Duration) string { return perOp(d, n) }
	note := fmt.Sprintf("%d objects (%s) in %d files of multi-document YAML plus the Namespace they go to; from creating the GitSource "+
		"to status.appliedRevision at the commit (phase %s), seen through a watch; the controller reported %s, i.e. per object: "+
		"plan %s, apply %s; CPU per object %s (whole process), sequential baseline %s; states %s; the GitSource is now %s",
		n, repo.census(), len(repo.files), run.status.Phase, stages, perObj(stages.plan), perObj(stages.apply), perObj(run.cpu),
		perObj(seq.cpu), states(run.status), mb(int64(run.size)))
	b.add(fmt.Sprintf("initial sync, %d objects", n), secs(run.wall), secs(seq.wall), durRatio(run.wall, seq.wall),
		note+"; baseline: client-go creates of the same objects (protobuf), one at a time, into another namespace")
	b.add("…vs parallel client-go creates", secs(run.wall), secs(par.wall), durRatio(run.wall, par.wall),
		fmt.Sprintf("baseline: the same creates from %d clients (%.0f/s; sequential %.0f/s, sync %.0f/s); CPU per object %s; "+
			"baseline objects carry a last-applied annotation like the sync's",
			b.sz.clients, rate(n, par.wall), rate(n, seq.wall), rate(n, run.wall), perObj(par.cpu)))
}

// noopResyncs triggers the source again without a new commit, and times each
// resync until status.lastSyncTime moves, against listing the objects it owns.
func (b *bench) noopResyncs(ctx context.Context, ctrl *gitsync.Controller, sw *sourceWatch, st *berthv1.GitSourceStatus) error {
	runs := make([]syncRun, b.sz.syncResyncs)
	err := b.profiled("resync", func() error {
		for i := range runs {
			prev := st.LastSyncTime.Time
			// lastSyncTime is stored to the second: trigger only once a resync can only
			// finish in a later second, so that "moved" is unambiguous.
			time.Sleep(time.Until(prev.Add(time.Second)))
			b.logf("sync: no-op resync %d/%d", i+1, len(runs))
			start, cpu0 := time.Now(), cpuTime()
			ctrl.Trigger(sourceNS, sourceName)
			var at time.Time
			var err error
			st, at, err = sw.wait(ctx, func(s *berthv1.GitSourceStatus) (bool, error) {
				if !healthyEnough(s) {
					return false, fmt.Errorf("resync ended %s: %s %s", s.Phase, s.Message, s.LastError)
				}
				return s.LastSyncTime != nil && s.LastSyncTime.After(prev), nil
			})
			if err != nil {
				return err
			}
			runs[i] = syncRun{wall: at.Sub(start), cpu: cpuTime() - cpu0, status: st}
		}
		return nil
	})
	if err != nil {
		return err
	}

	// Baseline: what a resync must at least read, the objects of the namespace.
	c := b.ts.Client
	base, err := timeN(b.sz.listIters, func() error {
		cms, err := c.CoreV1().ConfigMaps(syncNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		deps, err := c.AppsV1().Deployments(syncNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		svcs, err := c.CoreV1().Services(syncNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if n := len(cms.Items) + len(deps.Items) + len(svcs.Items); n < b.sz.syncObjects {
			return fmt.Errorf("listed %d objects, want %d", n, b.sz.syncObjects)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list baseline: %w", err)
	}
	walls := make([]time.Duration, len(runs))
	var cpu time.Duration
	for i, r := range runs {
		walls[i], cpu = r.wall, cpu+r.cpu
	}
	mid := runs[0]
	for _, r := range runs {
		if r.wall == median(walls) {
			mid = r
		}
	}
	n := b.sz.syncObjects
	b.add(fmt.Sprintf("no-op resync, %d objects", n), secs(median(walls)), ms(median(base.lat)), durRatio(median(walls), median(base.lat)),
		fmt.Sprintf("median of %d (all: %s); Trigger with no new commit, until status.lastSyncTime moves; the median run reported %s; "+
			"states %s; CPU per resync %s, per object %s; baseline: client-go lists of the namespace's ConfigMaps, Deployments and Services "+
			"(median of %d, CPU %s)",
			len(runs), joinDurations(walls), stagesOf(mid.status), states(mid.status), perOp(cpu, len(runs)),
			perOp(cpu, n*len(runs)), b.sz.listIters, perOp(base.cpu, b.sz.listIters)))
	return nil
}

// commitLatency times b.sz.syncCommits commits that each change one ConfigMap,
// from the commit to the new value arriving on a watch, with a signed push webhook
// after each commit; then the same measure for client-go updates.
func (b *bench) commitLatency(ctx context.Context, repo *manifestRepo, sw *sourceWatch, hookURL string) error {
	cms := b.ts.Client.CoreV1().ConfigMaps(syncNS)
	n := b.sz.syncCommits
	lat, commits, posts, toStatus := make([]time.Duration, n), make([]time.Duration, n), make([]time.Duration, n), make([]time.Duration, n)
	var plan, apply, echoWork []time.Duration
	echoes := 0
	for i := range n {
		f := (i * 37) % len(repo.files) // spread over the files
		cm := repo.files[f][0]
		name := cm.GetName()
		want := fmt.Sprintf("commit-%d", i+1)
		w, err := watchConfigMap(ctx, cms, name)
		if err != nil {
			return err
		}
		start := time.Now()
		if err := unstructured.SetNestedField(cm.Object, want, "data", revisionKey); err != nil {
			w.Stop()
			return err
		}
		rev, err := repo.commit(fmt.Sprintf("%s: %s=%s", name, revisionKey, want), f)
		if err != nil {
			w.Stop()
			return fmt.Errorf("git commit: %w", err)
		}
		commits[i] = time.Since(start)
		t := time.Now()
		if err := postPush(ctx, hookURL, rev); err != nil {
			w.Stop()
			return err
		}
		posts[i] = time.Since(t)
		at, err := awaitValue(ctx, w, want)
		w.Stop()
		if err != nil {
			return fmt.Errorf("commit %d (%s): %w", i+1, name, err)
		}
		lat[i] = at.Sub(start)
		st, at, err := sw.wait(ctx, applied(rev))
		if err != nil {
			return err
		}
		toStatus[i] = at.Sub(start)
		s := stagesOf(st)
		plan, apply = append(plan, s.plan), append(apply, s.apply)
		// The controller's watch of the objects it manages sees its own patch and
		// syncs the source again (after 250 ms); wait for that sync too, so that the
		// next commit finds the controller idle.
		if strings.Contains(states(st), gitsync.StateConfigured) {
			limit := 10*time.Second + 3*(s.fetch+s.plan+s.apply)
			echo, _, err := sw.waitFor(ctx, limit, func(s *berthv1.GitSourceStatus) (bool, error) { return !sameSync(s, st), nil })
			switch {
			case errors.Is(err, errNotDone):
			case err != nil:
				return err
			default:
				echoes++
				es := stagesOf(echo)
				echoWork = append(echoWork, es.fetch+es.plan+es.apply)
			}
		}
		if (i+1)%10 == 0 || i+1 == n {
			b.logf("sync: %d/%d commits, last took %s to the watch (%s)", i+1, n, lat[i].Round(time.Millisecond), s)
		}
	}

	// Baseline: client-go updates of one ConfigMap, seen through the same kind of watch.
	const samples = 50
	base := make([]time.Duration, samples)
	bcms := b.ts.Client.CoreV1().ConfigMaps(seqNS)
	name := repo.files[0][0].GetName()
	cur, err := bcms.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	w, err := watchConfigMap(ctx, bcms, name)
	if err != nil {
		return err
	}
	defer w.Stop()
	for i := range base {
		want := fmt.Sprintf("update-%d", i+1)
		start := time.Now()
		cur.Data[revisionKey] = want
		if cur, err = bcms.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return err
		}
		at, err := awaitValue(ctx, w, want)
		if err != nil {
			return fmt.Errorf("update %d: %w", i+1, err)
		}
		base[i] = at.Sub(start)
	}

	ls, bs := sorted(lat), sorted(base)
	notes := []string{
		fmt.Sprintf("%d commits to a %d-object repository, each changing one ConfigMap's data in one file; from before the commit is written "+
			"to the new value on a client-go watch of that ConfigMap; a GitHub-signed push POSTed to the controller's webhook after each commit "+
			"(the POST took p50 %s); the go-git commit itself took p50 %s; baseline: %d client-go Updates of a ConfigMap seen the same way",
			n, repo.objects(), ms(median(posts)), ms(median(commits)), samples),
		fmt.Sprintf("the syncs reported plan p50 %s, apply p50 %s (fetch is the rest); commit to status applied p50 %s, p99 %s; "+
			"%d of %d commits were followed by a second, no-op sync (the controller seeing its own patch), of p50 %s",
			ms(median(plan)), ms(median(apply)), ms(percentile(sorted(toStatus), 50)), ms(percentile(sorted(toStatus), 99)),
			echoes, n, ms(median(echoWork))),
	}
	if n < 100 {
		notes[1] += fmt.Sprintf("; with %d samples (%d for the baseline) p99 is the maximum", n, samples)
	}
	for i, p := range []float64{50, 99} {
		a, e := percentile(ls, p), percentile(bs, p)
		b.add(fmt.Sprintf("commit → API latency p%.0f, webhook", p), ms(a), ms(e), durRatio(a, e), notes[i])
	}
	return nil
}

// createBaseline creates the repository's objects in ns with client-go from workers
// clients, annotated with their configuration as the sync stores them. They do not
// carry the source label: the controller watches every object that does.
func (b *bench) createBaseline(ctx context.Context, repo *manifestRepo, ns string, workers int) (series, error) {
	var ops []func(context.Context) error
	for _, objs := range repo.files {
		for _, o := range objs {
			op, err := createOp(b.ts.Client, ns, o)
			if err != nil {
				return series{}, err
			}
			ops = append(ops, op)
		}
	}
	b.logf("sync: baseline, %d client-go creates into %s, %d clients", len(ops), ns, workers)
	return parallel(ctx, workers, len(ops), func(ctx context.Context, i int) error { return ops[i](ctx) })
}

// createOp returns the typed client-go create of a copy of o in ns.
func createOp(c kubernetes.Interface, ns string, o *unstructured.Unstructured) (func(context.Context) error, error) {
	u := o.DeepCopy()
	u.SetNamespace(ns)
	cfg, err := json.Marshal(u.Object)
	if err != nil {
		return nil, err
	}
	u.SetAnnotations(map[string]string{gitsync.LastAppliedAnnotation: string(cfg)})
	opts := metav1.CreateOptions{}
	switch u.GetKind() {
	case "ConfigMap":
		var cm corev1.ConfigMap
		err = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &cm)
		return func(ctx context.Context) error {
			_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, &cm, opts)
			return err
		}, err
	case "Deployment":
		var d appsv1.Deployment
		err = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d)
		return func(ctx context.Context) error {
			_, err := c.AppsV1().Deployments(ns).Create(ctx, &d, opts)
			return err
		}, err
	case "Service":
		var s corev1.Service
		err = runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &s)
		return func(ctx context.Context) error { _, err := c.CoreV1().Services(ns).Create(ctx, &s, opts); return err }, err
	}
	return nil, fmt.Errorf("no baseline create for kind %s", u.GetKind())
}

// postPush POSTs a GitHub push event for rev, signed with the webhook token.
func postPush(ctx context.Context, hookURL string, rev plumbing.Hash) error {
	payload, err := json.Marshal(map[string]any{
		"ref": "refs/heads/main", "after": rev.String(),
		"repository":  map[string]any{"full_name": "shop/deploy", "default_branch": "main"},
		"head_commit": map[string]any{"id": rev.String()},
	})
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, []byte(hookToken))
	mac.Write(payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hookURL+gitsync.WebhookPath+sourceNS+"/"+sourceName, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", uuid.NewString())
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("webhook: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// configMaps is the client of the ConfigMaps of one namespace.
type configMaps interface {
	List(ctx context.Context, opts metav1.ListOptions) (*corev1.ConfigMapList, error)
	Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
}

// watchConfigMap watches one ConfigMap from now on. It starts at the revision of a
// list, not at the object's own: that may be older than the server's watch window.
func watchConfigMap(ctx context.Context, cms configMaps, name string) (watch.Interface, error) {
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
	l, err := cms.List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list ConfigMap %s: %w", name, err)
	}
	opts.ResourceVersion = l.ResourceVersion
	w, err := cms.Watch(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("watch ConfigMap %s: %w", name, err)
	}
	return w, nil
}

// awaitValue returns when a ConfigMap with data[revisionKey] == want arrived on w.
func awaitValue(ctx context.Context, w watch.Interface, want string) (time.Time, error) {
	timeout := time.NewTimer(syncTimeout)
	defer timeout.Stop()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return time.Time{}, errors.New("watch closed")
			}
			if st, ok := ev.Object.(*metav1.Status); ok && ev.Type == watch.Error {
				return time.Time{}, fmt.Errorf("watch: %s", st.Message)
			}
			if cm, ok := ev.Object.(*corev1.ConfigMap); ok && cm.Data[revisionKey] == want {
				return time.Now(), nil
			}
		case <-timeout.C:
			return time.Time{}, fmt.Errorf("%s=%s not seen in %s", revisionKey, want, syncTimeout)
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		}
	}
}

// errNotDone is a wait that timed out.
var errNotDone = errors.New("not done")

// sourceWatch follows the GitSource's status.
type sourceWatch struct {
	res  dynamic.ResourceInterface
	w    watch.Interface
	rv   string
	last *berthv1.GitSourceStatus
}

// watchSource starts following the GitSource (which need not exist yet).
func (b *bench) watchSource(ctx context.Context) (*sourceWatch, error) {
	dyn, err := dynamic.NewForConfig(b.ts.Config)
	if err != nil {
		return nil, err
	}
	sw := &sourceWatch{res: dyn.Resource(registry.GitSources().GroupVersionResource()).Namespace(sourceNS)}
	if err := sw.open(ctx); err != nil {
		return nil, err
	}
	return sw, nil
}

// open (re)starts the watch where it left off.
func (sw *sourceWatch) open(ctx context.Context) error {
	sel := fields.OneTermEqualSelector("metadata.name", sourceName).String()
	if sw.rv == "" {
		l, err := sw.res.List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return fmt.Errorf("list GitSources: %w", err)
		}
		sw.rv = l.GetResourceVersion()
	}
	w, err := sw.res.Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: sw.rv})
	if err != nil {
		return fmt.Errorf("watch GitSource: %w", err)
	}
	sw.w = w
	return nil
}

func (sw *sourceWatch) stop() { sw.w.Stop() }

// wait returns the first status for which done holds, and when it arrived; it stops
// at the first error done returns.
func (sw *sourceWatch) wait(ctx context.Context, done func(*berthv1.GitSourceStatus) (bool, error)) (*berthv1.GitSourceStatus, time.Time, error) {
	return sw.waitFor(ctx, syncTimeout, done)
}

// waitFor is wait with a timeout of its own.
func (sw *sourceWatch) waitFor(ctx context.Context, limit time.Duration, done func(*berthv1.GitSourceStatus) (bool, error)) (*berthv1.GitSourceStatus, time.Time, error) {
	timeout := time.NewTimer(limit)
	defer timeout.Stop()
	for {
		select {
		case ev, open := <-sw.w.ResultChan():
			if !open {
				if err := sw.open(ctx); err != nil {
					return nil, time.Time{}, err
				}
				continue
			}
			at := time.Now()
			u, isObj := ev.Object.(*unstructured.Unstructured)
			if ev.Type == watch.Error || !isObj {
				return nil, time.Time{}, fmt.Errorf("GitSource watch: %v event %v", ev.Type, ev.Object)
			}
			sw.rv = u.GetResourceVersion()
			st := &berthv1.GitSourceStatus{}
			if m, found, _ := unstructured.NestedMap(u.Object, "status"); found {
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, st); err != nil {
					return nil, time.Time{}, fmt.Errorf("GitSource status: %w", err)
				}
			}
			sw.last = st
			if ok, err := done(st); ok || err != nil {
				return st, at, err
			}
		case <-timeout.C:
			if st := sw.last; st != nil {
				return nil, time.Time{}, fmt.Errorf("%w in %s; last status: phase %s, revision %.8s, applied %.8s, %s %s",
					errNotDone, limit, st.Phase, st.Revision, st.AppliedRevision, st.Message, st.LastError)
			}
			return nil, time.Time{}, fmt.Errorf("%w: no GitSource status in %s", errNotDone, limit)
		case <-ctx.Done():
			return nil, time.Time{}, ctx.Err()
		}
	}
}

// applied is done once the source has applied rev, and fails when it failed on rev.
// Progressing counts as applied: it is the health of the objects, and Deployments
// and Services never become healthy here, with no controllers and no endpoints.
func applied(rev plumbing.Hash) func(*berthv1.GitSourceStatus) (bool, error) {
	return func(st *berthv1.GitSourceStatus) (bool, error) {
		if st.Revision == rev.String() && st.Phase == gitsync.PhaseFailed {
			return false, fmt.Errorf("sync of %.8s failed: %s", rev, st.LastError)
		}
		return st.AppliedRevision == rev.String() && healthyEnough(st), nil
	}
}

// sameSync says two statuses record the same sync.
func sameSync(a, b *berthv1.GitSourceStatus) bool {
	return a.LastSyncTime.Equal(b.LastSyncTime) && stagesOf(a) == stagesOf(b)
}

// healthyEnough says a sync ended with everything applied.
func healthyEnough(st *berthv1.GitSourceStatus) bool {
	return st.Phase == gitsync.PhaseSynced || st.Phase == gitsync.PhaseProgressing
}

// stages are the durations a sync reports: fetch (mirror fetch and resolving the
// revision), plan (load, live state, plan, dry run) and apply (apply, health,
// drift report).
type stages struct{ fetch, plan, apply time.Duration }

var stagesRE = regexp.MustCompile(`fetch ([0-9.a-zµ]+), plan ([0-9.a-zµ]+), apply ([0-9.a-zµ]+)`)

// stagesOf returns a status's timings, or parses "fetch X, plan Y, apply Z" out of
// its message.
func stagesOf(st *berthv1.GitSourceStatus) stages {
	var s stages
	if t := st.Timings; t != nil {
		return stages{t.Fetch.Duration, t.Plan.Duration, t.Apply.Duration}
	}
	if m := stagesRE.FindStringSubmatch(st.Message); m != nil {
		s.fetch, _ = time.ParseDuration(m[1])
		s.plan, _ = time.ParseDuration(m[2])
		s.apply, _ = time.ParseDuration(m[3])
	}
	return s
}

func (s stages) String() string {
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("fetch %s, plan %s, apply %s", r(s.fetch), r(s.plan), r(s.apply))
}

// states counts the objects of a status by state.
func states(st *berthv1.GitSourceStatus) string {
	count := map[string]int{}
	var order []string
	for _, o := range st.Objects {
		if count[o.State] == 0 {
			order = append(order, o.State)
		}
		count[o.State]++
	}
	parts := make([]string, len(order))
	for i, s := range order {
		parts[i] = fmt.Sprintf("%d %s", count[s], s)
	}
	return strings.Join(parts, ", ")
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func durRatio(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func joinDurations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = secs(d)
	}
	return strings.Join(parts, ", ")
}

// manifestRepo is a git repository with a work tree in a temp dir, holding a
// Namespace and files of multi-document YAML declaring objects in it. The objects
// are kept as they were rendered, so that a commit can change one and render its
// file again.
type manifestRepo struct {
	dir   string
	repo  *git.Repository
	files [][]*unstructured.Unstructured
}

// newManifestRepo writes objects objects spread evenly over files files.
func newManifestRepo(dir string, objects, files int) (*manifestRepo, error) {
	repo, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName("main")},
	})
	if err != nil {
		return nil, err
	}
	r := &manifestRepo{dir: dir, repo: repo, files: make([][]*unstructured.Unstructured, files)}
	perFile := objects / files
	for f := range r.files {
		for k := range perFile {
			r.files[f] = append(r.files[f], gitObject(f, k))
		}
	}
	return r, nil
}

func (r *manifestRepo) objects() int {
	n := 0
	for _, f := range r.files {
		n += len(f)
	}
	return n
}

// census says how many objects of each kind the repository declares.
func (r *manifestRepo) census() string {
	count := map[string]int{}
	for _, f := range r.files {
		for _, o := range f {
			count[o.GetKind()]++
		}
	}
	return fmt.Sprintf("%d ConfigMaps, %d Deployments, %d Services", count["ConfigMap"], count["Deployment"], count["Service"])
}

func fileName(f int) string { return fmt.Sprintf("apps/app-%03d.yaml", f) }

// commitAll writes every file and the Namespace and commits them.
func (r *manifestRepo) commitAll(msg string) (plumbing.Hash, error) {
	ns := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + syncNS + "\n  labels:\n    team: shop\n"
	if err := r.write("namespace.yaml", []byte(ns)); err != nil {
		return plumbing.ZeroHash, err
	}
	all := make([]int, len(r.files))
	for f := range all {
		all[f] = f
	}
	return r.commit(msg, all...)
}

// commit renders the given files again and commits them with the work tree.
func (r *manifestRepo) commit(msg string, files ...int) (plumbing.Hash, error) {
	for _, f := range files {
		var buf bytes.Buffer
		for i, o := range r.files[f] {
			y, err := yaml.Marshal(o.Object)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if i > 0 {
				buf.WriteString("---\n")
			}
			buf.Write(y)
		}
		if err := r.write(fileName(f), buf.Bytes()); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	wt, err := r.repo.Worktree()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if len(files) > 1 {
		if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
			return plumbing.ZeroHash, err
		}
	} else {
		for _, f := range files {
			if _, err := wt.Add(fileName(f)); err != nil {
				return plumbing.ZeroHash, err
			}
		}
	}
	return wt.Commit(msg, &git.CommitOptions{Author: &object.Signature{Name: "dev", Email: "dev@example.com", When: time.Now()}})
}

func (r *manifestRepo) write(name string, data []byte) error {
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// gitObject is object k of file f: of every ten, eight ConfigMaps, then the
// Deployment of an app and its Service, with small, realistic specs.
func gitObject(f, k int) *unstructured.Unstructured {
	app := fmt.Sprintf("app-%03d-%d", f, k/10)
	labels := map[string]any{"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "shop"}
	meta := func(name string) map[string]any {
		return map[string]any{"name": name, "namespace": syncNS, "labels": labels}
	}
	var obj map[string]any
	switch k % 10 {
	case 8:
		obj = map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(app),
			"spec": map[string]any{
				"replicas": int64(2),
				"selector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": app}},
				"template": map[string]any{
					"metadata": map[string]any{"labels": labels},
					"spec": map[string]any{"containers": []any{map[string]any{
						"name": "app", "image": fmt.Sprintf("registry.example.com/shop/%s:1.%d.0", app, f%7),
						"args":    []any{"--config=/etc/app/application.properties"},
						"ports":   []any{map[string]any{"name": "http", "containerPort": int64(8080)}},
						"env":     []any{map[string]any{"name": "LOG_LEVEL", "value": "info"}},
						"envFrom": []any{map[string]any{"configMapRef": map[string]any{"name": app + "-config-0"}}},
						"resources": map[string]any{
							"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
							"limits":   map[string]any{"memory": "256Mi"},
						},
						"readinessProbe": map[string]any{"httpGet": map[string]any{"path": "/healthz", "port": "http"}, "periodSeconds": int64(5)},
					}}},
				},
			},
		}
	case 9:
		obj = map[string]any{
			"apiVersion": "v1", "kind": "Service", "metadata": meta(app),
			"spec": map[string]any{
				"selector": map[string]any{"app.kubernetes.io/name": app},
				"ports":    []any{map[string]any{"name": "http", "port": int64(80), "targetPort": "http"}},
			},
		}
	default:
		var props strings.Builder
		for j := range 6 {
			fmt.Fprintf(&props, "upstream.%d.url=https://svc-%d.shop.svc:8443/v1\n", j, (f+k+j)%97)
		}
		obj = map[string]any{
			"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(fmt.Sprintf("%s-config-%d", app, k%10)),
			"data": map[string]any{
				"application.properties": props.String(),
				"LOG_LEVEL":              "info",
				"FEATURE_FLAGS":          fmt.Sprintf(`{"checkout_v2":true,"ab_bucket":%d}`, (f+k)%10),
				revisionKey:              "initial",
			},
		}
	}
	return &unstructured.Unstructured{Object: obj}
}
