package main

import (
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/apiserver"
)

// newServerCommand builds `berth server`: the control plane.
func newServerCommand() *cobra.Command {
	var o apiserver.Options
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the control plane: the Kubernetes API server on etcd",
		Long: `Run the control plane: a Kubernetes-compatible API server on an embedded etcd
(or an external etcd cluster with --etcd-endpoints). TLS material, tokens and
kubeconfigs for the admin, node and readonly roles are written to --data-dir.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			o.Logger = slog.Default()
			srv, err := apiserver.New(o)
			if err != nil {
				return err
			}
			go func() {
				select {
				case <-srv.Ready():
					slog.Info("kubeconfigs written", "admin", srv.KubeconfigPath("admin"), "readonly", srv.KubeconfigPath("readonly"), "node", srv.KubeconfigPath("node"))
				case <-ctx.Done():
				}
			}()
			return srv.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.DataDir, "data-dir", "/var/lib/berth", "directory for etcd data, TLS material and kubeconfigs")
	f.StringVar(&o.Listen, "listen", "127.0.0.1:6443", "HTTPS address of the API server")
	f.StringSliceVar(&o.EtcdEndpoints, "etcd-endpoints", nil, "external etcd cluster endpoints (comma-separated); empty embeds etcd in the data dir")
	f.StringVar(&o.ServiceCIDR, "service-cidr", "10.96.0.0/12", "range of Service ClusterIPs")
	f.StringVar(&o.NodePortRange, "service-node-port-range", "30000-32767", "range of NodePorts")
	f.StringVar(&o.ClusterCIDR, "cluster-cidr", "10.42.0.0/16", "pod network; each node gets a /24")
	f.StringSliceVar(&o.Hosts, "tls-san", nil, "extra names and addresses for the serving certificate")
	f.DurationVar(&o.CompactionInterval, "etcd-compaction-interval", 0, "how often etcd history is compacted (default 5m)")
	return cmd
}
