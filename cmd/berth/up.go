package main

import (
	"context"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/apiserver"
	"github.com/berth-dev/berth/apiserver/auth"
)

// newUpCommand builds `berth up`: a whole cluster of one node in one
// process.
func newUpCommand() *cobra.Command {
	var (
		cp   controlPlane
		node agentFlags
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a one-node cluster in one process: control plane, node and git sync",
		Long: `Run a whole cluster of one node in one process: what ` + "`berth server`" + ` runs
(the API server on an embedded etcd, the scheduler, the controllers and git sync)
and what ` + "`berth agent`" + ` runs (the kubelet on a private containerd, kube-proxy and
the node-local DNS server), the node talking to the API server with the node
role. With --repo, the cluster follows that repository: push to deploy.
The node's state is kept in --data-dir/agent.`,
		Example: `  berth up --repo https://git.example.com/team/deploy.git --path prod
  berth up --repo ./my-manifests --data-dir /var/lib/berth`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			node.dataDir = filepath.Join(cp.api.DataDir, "agent")
			node.clusterCIDR = cp.api.ClusterCIDR
			return cp.run(ctx, func(ctx context.Context, srv *apiserver.Server) error {
				return runAgent(ctx, node, srv.RESTConfig(auth.RoleNode))
			})
		},
	}
	cp.register(cmd)
	node.register(cmd)
	return cmd
}
