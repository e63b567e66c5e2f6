package main

import (
	"context"

	"github.com/containerd/containerd/runtime/v2/logging"
	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/kubelet/logs"
)

// newLogDriverCommand is `berth log-driver SPEC`, the log driver containerd's
// shim starts beside each container (binary logging): it copies the
// container's stdout and stderr, passed as file descriptors 3 and 4, into
// the container's log file. Hidden: only the kubelet's runtime names it.
func newLogDriverCommand() *cobra.Command {
	return &cobra.Command{
		Use:    logs.DriverCommand + " SPEC",
		Short:  "Copy a container's output into its log file (started by containerd's shim)",
		Hidden: true,
		Args:   cobra.ExactArgs(1),
		// The root's persistent hook would set up logging on stderr, which the
		// shim does not read; none is needed.
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error { return nil },
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := logs.ParseDriverSpec(args[0])
			if err != nil {
				return err
			}
			// Run speaks containerd's protocol (descriptors 3, 4 and 5, SIGTERM)
			// and exits the process when the driver returns.
			logging.Run(func(ctx context.Context, cfg *logging.Config, ready func() error) error {
				return logs.RunDriver(ctx, spec, cfg.Stdout, cfg.Stderr, ready)
			})
			return nil
		},
	}
}
