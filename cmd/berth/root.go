package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/berth-dev/berth/internal/version"
)

// newRootCommand builds the berth command tree.
func newRootCommand() *cobra.Command {
	var logLevel string
	root := &cobra.Command{
		Use:           "berth",
		Short:         "berth: git push of Kubernetes YAML is the deploy button",
		SilenceUsage:  true,
		SilenceErrors: false,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: want debug, info, warn or error", logLevel)
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})))
			return nil
		},
	}
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.AddCommand(newServerCommand(), &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "berth", version.Version)
		},
	})
	root.AddCommand(newLogDriverCommand())
	root.AddCommand(newAgentCommand())
	root.AddCommand(newUpCommand())
	root.AddCommand(readCommands()...)
	root.AddCommand(newPlanCommand())
	return root
}
