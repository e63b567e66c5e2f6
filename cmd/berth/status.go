package main

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
	"github.com/berth-dev/berth/cli"
)

// statusDebounce gathers the changes of a burst (a rollout touches many pods) into
// one redraw.
const statusDebounce = 250 * time.Millisecond

// statusAgeRefresh redraws a watching terminal this often even without changes,
// so that ages ("last sync 5s ago") stay true.
const statusAgeRefresh = 5 * time.Second

// gitSourcesResource is the GitSource resource.
var gitSourcesResource = berthv1.SchemeGroupVersion.WithResource("gitsources")

// statusFlags are `berth status`'s flags.
type statusFlags struct {
	clusterFlags
	output string
	watch  bool
}

// newStatusCommand builds `berth status`.
func newStatusCommand(env *readEnv) *cobra.Command {
	var f statusFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the cluster at a glance: git sources, nodes, workloads, warnings",
		Long: `Show the cluster on one screen: each GitSource (repository, branch, revision and its
commit subject, phase, health, drift, last sync and the last error in full), the nodes
(readiness, pods, CPU and memory requested of allocatable), the workloads of every
namespace (ready of desired, up to date, health) and the Warning events of the last
hour. --watch redraws when anything changes. -o json|yaml prints the same for scripts.`,
		Example: `  berth status
  berth status --watch
  berth status -o json | jq '.sources[].phase'`,
	}
	readCommand(env, cmd, func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError(cmd, "unexpected arguments %q", args)
		}
		switch f.output {
		case "", "json", "yaml":
		default:
			return usageError(cmd, "unknown output format %q: want json or yaml", f.output)
		}
		return runStatus(cmd.Context(), env, &f, cmd)
	})
	fs := cmd.Flags()
	f.register(fs, false, false)
	fs.StringVarP(&f.output, "output", "o", "", "output format: json or yaml (default: the screen)")
	fs.BoolVarP(&f.watch, "watch", "w", false, "redraw whenever the cluster changes, until interrupted")
	return cmd
}

// runStatus fills informers with the cluster's objects, then prints the status
// once, or after every change with --watch.
func runStatus(ctx context.Context, env *readEnv, f *statusFlags, cmd *cobra.Command) error {
	c, err := env.clients(&f.clusterFlags)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := cli.StartProgress(cmd.ErrOrStderr(), env.isTerminal(cmd.ErrOrStderr()), "reading the cluster at "+serverName(c.config))
	src, err := newStatusSource(ctx, c)
	stop()
	if err != nil {
		return err
	}
	defer func() {
		cancel()
		src.shutdown()
	}()
	out := cmd.OutOrStdout()
	terminal := env.isTerminal(out)
	var last []byte
	draw := func() error {
		var buf bytes.Buffer
		now := env.now()
		snap := cli.NewSnapshot(src.input(now))
		if f.output != "" {
			err = cli.WriteObject(&buf, snap, f.output)
		} else {
			err = cli.WriteStatus(&buf, snap, cli.StatusOptions{Now: now, Colour: terminal})
		}
		if err != nil {
			return err
		}
		if bytes.Equal(buf.Bytes(), last) {
			return nil
		}
		if last != nil {
			if terminal && f.output == "" {
				fmt.Fprint(out, "\x1b[H\x1b[2J")
			} else if f.output == "" || f.output == "yaml" {
				fmt.Fprintln(out, "---")
			}
		} else if terminal && f.watch && f.output == "" {
			fmt.Fprint(out, "\x1b[H\x1b[2J")
		}
		last = buf.Bytes()
		_, err := out.Write(last)
		return err
	}
	if err := draw(); err != nil {
		return err
	}
	if !f.watch {
		return nil
	}
	var refresh <-chan time.Time
	if terminal && f.output == "" {
		t := time.NewTicker(statusAgeRefresh)
		defer t.Stop()
		refresh = t.C
	}
	return watchStatus(ctx, src.changed, refresh, draw)
}

// watchStatus redraws after each burst of changes and on each refresh tick until
// ctx ends.
func watchStatus(ctx context.Context, changed <-chan struct{}, refresh <-chan time.Time, draw func() error) error {
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
			debounce.Reset(statusDebounce)
		case <-debounce.C:
			if err := draw(); err != nil {
				return err
			}
		case <-refresh:
			if err := draw(); err != nil {
				return err
			}
		}
	}
}

// statusSource holds the informers the status screen is drawn from.
type statusSource struct {
	nodes, pods, deployments, statefulSets, daemonSets, jobs, events, sources cache.GenericLister
	// changed receives (without blocking) after any object changes.
	changed chan struct{}
	// shutdown waits for the informers to stop once their context ends.
	shutdown func()
}

// newStatusSource starts informers for what the screen shows and waits until
// they hold the cluster's objects. StatefulSets and GitSources are read only if
// the server serves them.
func newStatusSource(ctx context.Context, c *clients) (*statusSource, error) {
	s := &statusSource{changed: make(chan struct{}, 1)}
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.notify() },
		UpdateFunc: func(any, any) { s.notify() },
		DeleteFunc: func(any) { s.notify() },
	}
	typed := informers.NewSharedInformerFactory(c.typed, 0)
	dyn := dynamicinformer.NewDynamicSharedInformerFactory(c.dynamic, 0)
	add := func(gvr schema.GroupVersionResource, dynamic bool) (cache.GenericLister, error) {
		var inf informers.GenericInformer
		var err error
		if dynamic {
			inf = dyn.ForResource(gvr)
		} else if inf, err = typed.ForResource(gvr); err != nil {
			return nil, fmt.Errorf("informer for %s: %w", gvr.Resource, err)
		}
		if _, err := inf.Informer().AddEventHandler(notify); err != nil {
			return nil, fmt.Errorf("watch %s: %w", gvr.Resource, err)
		}
		return inf.Lister(), nil
	}
	var err error
	for _, l := range []struct {
		gvr    schema.GroupVersionResource
		into   *cache.GenericLister
		always bool
		dyn    bool
	}{
		{corev1.SchemeGroupVersion.WithResource("nodes"), &s.nodes, true, false},
		{corev1.SchemeGroupVersion.WithResource("pods"), &s.pods, true, false},
		{corev1.SchemeGroupVersion.WithResource("events"), &s.events, true, false},
		{appsv1.SchemeGroupVersion.WithResource("deployments"), &s.deployments, false, false},
		{appsv1.SchemeGroupVersion.WithResource("statefulsets"), &s.statefulSets, false, false},
		{appsv1.SchemeGroupVersion.WithResource("daemonsets"), &s.daemonSets, false, false},
		{batchv1.SchemeGroupVersion.WithResource("jobs"), &s.jobs, false, false},
		{gitSourcesResource, &s.sources, false, true},
	} {
		if !l.always {
			ok, err := served(c, l.gvr)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		// Informers retry a failing list for ever; one small list first turns an
		// unreachable server or a forbidden resource into an error.
		if _, err := c.dynamic.Resource(l.gvr).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			return nil, err
		}
		if *l.into, err = add(l.gvr, l.dyn); err != nil {
			return nil, err
		}
	}
	typed.Start(ctx.Done())
	dyn.Start(ctx.Done())
	s.shutdown = func() {
		typed.Shutdown()
		dyn.Shutdown()
	}
	for gvr, ok := range typed.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("read %s: %w", gvr, context.Cause(ctx))
		}
	}
	for gvr, ok := range dyn.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("read %s: %w", gvr.Resource, context.Cause(ctx))
		}
	}
	return s, nil
}

// notify signals a change without blocking.
func (s *statusSource) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// served says whether the server's discovery lists a resource.
func served(c *clients, gvr schema.GroupVersionResource) (bool, error) {
	list, err := c.disco.ServerResourcesForGroupVersion(gvr.GroupVersion().String())
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("discover %s: %w", gvr.GroupVersion(), err)
	}
	for _, r := range list.APIResources {
		if r.Name == gvr.Resource {
			return true, nil
		}
	}
	return false, nil
}

// input copies the informers' objects into a snapshot input.
func (s *statusSource) input(now time.Time) cli.SnapshotInput {
	return cli.SnapshotInput{
		Now:          now,
		Sources:      listAs[berthv1.GitSource](s.sources),
		Nodes:        listAs[corev1.Node](s.nodes),
		Pods:         listAs[corev1.Pod](s.pods),
		Deployments:  listAs[appsv1.Deployment](s.deployments),
		StatefulSets: listAs[appsv1.StatefulSet](s.statefulSets),
		DaemonSets:   listAs[appsv1.DaemonSet](s.daemonSets),
		Jobs:         listAs[batchv1.Job](s.jobs),
		Events:       listAs[corev1.Event](s.events),
	}
}

// listAs lists a lister's objects as T values (typed, or converted from
// unstructured); a nil lister lists nothing.
func listAs[T any](l cache.GenericLister) []T {
	if l == nil {
		return nil
	}
	objs, err := l.List(labels.Everything())
	if err != nil {
		return nil
	}
	return objectsAs[T](objs)
}

// objectsAs converts objects, typed or unstructured, to T values; objects of
// other types are left out.
func objectsAs[T any](objs []runtime.Object) []T {
	out := make([]T, 0, len(objs))
	for _, o := range objs {
		if v, ok := any(o).(*T); ok {
			out = append(out, *v)
			continue
		}
		if u, ok := o.(*unstructured.Unstructured); ok {
			var t T
			if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &t) == nil {
				out = append(out, t)
			}
		}
	}
	return out
}
