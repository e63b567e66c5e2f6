package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/controllers"
	"github.com/berth-dev/berth/internal/leader"
	"github.com/berth-dev/berth/scheduler"
	"github.com/berth-dev/berth/sync"
)

// controlPlane is what `berth server` (and `berth up`) runs: the API
// server, then the scheduler, the controllers and the sync controller.
type controlPlane struct {
	api  apiserver.Options
	src  sourceFlags
	ctrl controllers.Options
	// leaderIdentity names this server in the election (default
	// HOSTNAME_HOST:PORT); leaderTTL is the election session's TTL.
	leaderIdentity string
	leaderTTL      time.Duration
	// advertiseURL is where other servers reach this one (default the
	// API server's URL).
	advertiseURL string
}

// run runs the control plane until ctx ends. ready, if set, is called
// once the API server serves, with it. The API server runs on every
// server; the scheduler, the controllers and the sync controller only on the
// one elected leader among the servers sharing the etcd (with the embedded
// etcd, this one at once).
func (cp *controlPlane) run(ctx context.Context, ready func(ctx context.Context, srv *apiserver.Server) error) error {
	o := cp.api
	o.Logger = slog.Default()
	// Servers on one external etcd share the CA and the tokens, so that
	// clients may use any of them.
	if err := apiserver.ShareCredentials(ctx, o); err != nil {
		return err
	}
	// The webhook is served by the API server's listener; the sync controller
	// behind it runs while this server leads. Other servers forward it to
	// the leader.
	var (
		webhook atomic.Pointer[http.Handler]
		forward atomic.Pointer[http.Handler]
	)
	local := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := webhook.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "sync is starting, or runs on another server", http.StatusServiceUnavailable)
	})
	o.Hooks = map[string]http.Handler{sync.WebhookPath: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := forward.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		local.ServeHTTP(w, r)
	})}
	srv, err := apiserver.New(o)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	// The API server (and its etcd client) stops only after the elector has
	// stopped the leader's components and resigned.
	srvCtx, stopSrv := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSrv()
	g.Go(func() error { return srv.Run(srvCtx) })
	g.Go(func() error {
		defer stopSrv()
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
		kube, err := kubernetes.NewForConfig(cfg)
		if err != nil {
			return fmt.Errorf("leader lease client: %w", err)
		}
		el, err := leader.New(leader.Options{
			Client: srv.EtcdClient(), Identity: cp.identity(srv), TTL: cp.leaderTTL, Kube: kube,
			Endpoint: cmp.Or(cp.advertiseURL, srv.URL()), Logger: slog.Default(),
			Lead: func(ctx context.Context) error {
				return cp.lead(ctx, cfg, o.DataDir, &webhook)
			},
		})
		if err != nil {
			return err
		}
		tlsCfg, err := rest.TLSConfigFor(&rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: cfg.CAData}})
		if err != nil {
			return fmt.Errorf("webhook forwarding: %w", err)
		}
		fwd := el.Forward(local, &http.Transport{TLSClientConfig: tlsCfg, ForceAttemptHTTP2: true})
		forward.Store(&fwd)
		return el.Run(ctx)
	})
	if err := g.Wait(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// lead runs what only the leader runs, the scheduler, the controllers and
// the sync controller (behind the webhook), until ctx ends.
func (cp *controlPlane) lead(ctx context.Context, cfg *rest.Config, dataDir string, webhook *atomic.Pointer[http.Handler]) error {
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
	syncer, err := sync.New(sync.Options{Config: cfg, DataDir: dataDir, Logger: slog.Default()})
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return sched.Run(gctx) })
	g.Go(func() error { return mgr.Run(gctx) })
	h := syncer.WebhookHandler()
	webhook.Store(&h)
	defer webhook.Store(nil)
	g.Go(func() error { return syncer.Run(gctx) })
	if err := g.Wait(); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// identity is this server's name in the leader election: --leader-identity,
// or the host name and the address clients reach the API server at.
func (cp *controlPlane) identity(srv *apiserver.Server) string {
	if cp.leaderIdentity != "" {
		return cp.leaderIdentity
	}
	host, err := os.Hostname()
	if err != nil {
		host = "berth"
	}
	return host + "_" + strings.TrimPrefix(srv.URL(), "https://")
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
	f.StringVar(&cp.leaderIdentity, "leader-identity", "",
		"this server's name in the leader election among servers on one etcd (default HOSTNAME_HOST:PORT)")
	f.StringVar(&cp.advertiseURL, "advertise-url", "",
		"URL the other servers reach this one at, to forward git webhooks to the leader (default https://LISTEN-ADDRESS)")
	f.DurationVar(&cp.leaderTTL, "leader-elect-lease-duration", leader.DefaultTTL,
		"how long a leader that was killed or cut off from etcd keeps leading before another server takes over")
	cp.src.register(cmd)
}
