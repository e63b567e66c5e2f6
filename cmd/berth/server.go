package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/controllers"
	"github.com/berth-dev/berth/scheduler"
	"github.com/berth-dev/berth/sync"
)

// controlPlane is what `berth server` (and `berth up`) runs: the API
// server, then the scheduler, the controllers and the sync controller.
type controlPlane struct {
	api  apiserver.Options
	src  sourceFlags
	ctrl controllers.Options
}

// run runs the control plane until ctx ends. ready, if set, is called
// once the API server serves, with it; the rest starts after it returns.
func (cp *controlPlane) run(ctx context.Context, ready func(ctx context.Context, srv *apiserver.Server) error) error {
	o := cp.api
	o.Logger = slog.Default()
	// The webhook is served by the API server's listener; the sync controller
	// behind it starts once the API server is ready.
	var webhook atomic.Pointer[http.Handler]
	o.Hooks = map[string]http.Handler{sync.WebhookPath: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := webhook.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "sync is starting", http.StatusServiceUnavailable)
	})}
	srv, err := apiserver.New(o)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(ctx) })
	g.Go(func() error {
		select {
		case <-srv.Ready():
		case <-ctx.Done():
			return nil
		}
		slog.Info("kubeconfigs written", "admin", srv.KubeconfigPath(auth.RoleAdmin),
			"readonly", srv.KubeconfigPath(auth.RoleReadonly), "node", srv.KubeconfigPath(auth.RoleNode))
		if ready != nil {
			g.Go(func() error { return ready(ctx, srv) })
		}
		cfg := srv.RESTConfig(auth.RoleAdmin)
		if err := cp.src.ensure(ctx, cfg); err != nil {
			return err
		}
		sched, err := scheduler.New(scheduler.Options{Config: cfg, Logger: slog.Default().With("component", "scheduler")})
		if err != nil {
			return err
		}
		ctrl := cp.ctrl
		ctrl.Config, ctrl.Logger = cfg, slog.Default().With("component", "controllers")
		mgr, err := controllers.New(ctrl)
		if err != nil {
			return err
		}
		g.Go(func() error { return sched.Run(ctx) })
		g.Go(func() error { return mgr.Run(ctx) })
		syncer, err := sync.New(sync.Options{Config: cfg, DataDir: o.DataDir, Logger: slog.Default()})
		if err != nil {
			return fmt.Errorf("sync: %w", err)
		}
		h := syncer.WebhookHandler()
		webhook.Store(&h)
		return syncer.Run(ctx)
	})
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// newServerCommand builds `berth server`: the control plane.
func newServerCommand() *cobra.Command {
	var cp controlPlane
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: the Kubernetes API server on etcd, and git sync",
		Long: `Run the control plane: a Kubernetes-compatible API server on an embedded etcd
(or an external etcd cluster with --etcd-endpoints), the scheduler, the controllers
(Deployment, ReplicaSet, DaemonSet, Job, Node lifecycle, EndpointSlice, ServiceAccount,
Namespace, garbage collector), and the sync controller that keeps the cluster in step
with every GitSource. TLS material, tokens and kubeconfigs for the
admin, node and readonly roles are written to --data-dir. With --repo, the GitSource
"default" (namespace kube-system) follows that repository.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return cp.run(ctx, nil)
		},
	}
	cp.register(cmd)
	return cmd
}

// register adds the control plane's flags to cmd.
func (cp *controlPlane) register(cmd *cobra.Command) {
	o, ctrl := &cp.api, &cp.ctrl
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data-dir", "/var/lib/berth", "directory for etcd data, TLS material, kubeconfigs and git mirrors")
	f.StringVar(&o.Listen, "listen", "127.0.0.1:6443", "HTTPS address of the API server")
	f.StringSliceVar(&o.EtcdEndpoints, "etcd-endpoints", nil, "external etcd cluster endpoints (comma-separated); empty embeds etcd in the data dir")
	f.StringVar(&o.ServiceCIDR, "service-cidr", "10.96.0.0/12", "range of Service ClusterIPs")
	f.StringVar(&o.NodePortRange, "service-node-port-range", "30000-32767", "range of NodePorts")
	f.StringVar(&o.ClusterCIDR, "cluster-cidr", "10.42.0.0/16", "pod network; each node gets a /24")
	f.StringSliceVar(&o.Hosts, "tls-san", nil, "extra names and addresses for the serving certificate")
	f.DurationVar(&o.CompactionInterval, "etcd-compaction-interval", 0, "how often etcd history is compacted (default 5m)")
	f.DurationVar(&ctrl.NodeMonitorGracePeriod, "node-monitor-grace-period", 40*time.Second,
		"how long a node may go without renewing its Lease before it is marked NotReady")
	f.DurationVar(&ctrl.PodEvictionTimeout, "pod-eviction-timeout", 60*time.Second,
		"how long a node stays NotReady before its pods are deleted so that they are recreated elsewhere")
	f.IntVar(&ctrl.Workers, "controller-workers", 4, "workers per controller")
	cp.src.register(cmd)
}
