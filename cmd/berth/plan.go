package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berth-dev/berth/cli"
)

// newPlanCommand builds `berth plan`: review a change before it merges.
func newPlanCommand() *cobra.Command {
	var (
		o          cli.PlanOptions
		format     string
		kubeconfig string
		offline    bool
	)
	cmd := &cobra.Command{
		Use:   "plan [--repo DIR] [--base REF] [--head REF] [--path P]",
		Short: "Show what a change to the manifests would do, before it merges",
		Long: `Show what a change to the manifests would do, before it merges, as nomad job plan,
argocd app diff and flux diff do.

berth plan loads head (default HEAD) from the git repository holding --repo and checks
it as a sync would: every problem is listed with file:line, object and field. Then:

  - with --base, it shows each object head creates, changes (field by field) or deletes
    against base;
  - with a cluster, it plans head against the live objects with the sync's own
    planning: exactly what a sync would create, update and prune. It also lists the
    drift live now (objects changed outside git) and places the new pods on the
    current nodes with the scheduler's own filters, saying which would not fit and why.

The cluster is read through --kubeconfig, else $KUBECONFIG, else the readonly
kubeconfig ` + "`berth server`" + ` writes (/var/lib/berth/readonly.kubeconfig); the
readonly token is enough, and nothing is ever written. Without --base a cluster is
required; with --base and no kubeconfig found (or --offline), the plan is offline.

Secret values are never shown. --format markdown is made for a pull-request comment
(see examples/ci). Exit status: 0 no changes, 1 changes, 2 errors.`,
		Example: `  # What does my branch change against main?
  berth plan --base main --offline
  # What would a sync of my branch do to the cluster?
  berth plan --head my-branch --kubeconfig ~/.berth/readonly.kubeconfig
  # Both, as a pull-request comment
  berth plan --base origin/main --head HEAD --format markdown`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case cli.PlanFormatText, cli.PlanFormatMarkdown, cli.PlanFormatJSON:
			default:
				return &exitError{code: cli.PlanExitErrors, err: fmt.Errorf("--format %q: want text, markdown or json", format)}
			}
			cfg, err := planClusterConfig(kubeconfig, offline, o.Base != "")
			if err != nil {
				return &exitError{code: cli.PlanExitErrors, err: err}
			}
			o.Config = cfg
			progress := newPlanProgress(cmd.ErrOrStderr())
			o.Progress = progress.show
			report, err := cli.Plan(cmd.Context(), o)
			progress.done()
			if err != nil {
				return &exitError{code: cli.PlanExitErrors, err: err}
			}
			if err := cli.WritePlan(cmd.OutOrStdout(), report, format); err != nil {
				return &exitError{code: cli.PlanExitErrors, err: err}
			}
			if report.ExitCode == cli.PlanExitNoChange {
				return nil
			}
			// The plan said it all: exit with its status and no message.
			cmd.SilenceErrors = true
			return &exitError{code: report.ExitCode}
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Repo, "repo", ".", "directory in the git repository holding the manifests")
	f.StringVar(&o.Base, "base", "", "revision to compare head with in git, such as main or origin/main")
	f.StringVar(&o.Head, "head", "HEAD", "revision under review")
	f.StringVar(&o.Path, "path", "", "directory of the repository holding the manifests (default: the GitSource's path with a cluster, else the root)")
	f.StringVar(&o.Source, "source", "", "GitSource the plan is for, namespace/name (default: the cluster's only one, else kube-system/default)")
	f.StringVarP(&format, "format", "o", cli.PlanFormatText, "output format: text, markdown or json")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (default: $KUBECONFIG, else "+defaultReadonlyKubeconfig+")")
	f.BoolVar(&offline, "offline", false, "do not read any cluster: compare head with --base only")
	return cmd
}

// planClusterConfig decides whether the plan reads a cluster, and returns its
// config (nil offline). A kubeconfig named by --kubeconfig or $KUBECONFIG must
// load; the default readonly one is used when it exists, and its absence makes
// the plan offline when there is a base to compare with.
func planClusterConfig(kubeconfig string, offline, haveBase bool) (*rest.Config, error) {
	if offline {
		if !haveBase {
			return nil, errors.New("--offline needs --base: offline, head can only be compared with another revision")
		}
		return nil, nil
	}
	if kubeconfig == "" && os.Getenv(clientcmd.RecommendedConfigPathEnvVar) == "" {
		if _, err := os.Stat(defaultReadonlyKubeconfig); errors.Is(err, fs.ErrNotExist) {
			if haveBase {
				return nil, nil
			}
			return nil, fmt.Errorf("without --base, berth plan compares head with the live cluster, and there is no kubeconfig: pass --kubeconfig, set $KUBECONFIG, or give --base (the readonly kubeconfig %s, written by `berth server`, does not exist here)", defaultReadonlyKubeconfig)
		}
	}
	cfg, err := readonlyConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = time.Minute
	}
	return cfg, nil
}

// exitError ends a command with an exit status. Without err, it prints nothing
// (the command silences cobra's message); main exits with ExitCode.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// ExitCode is the process's exit status.
func (e *exitError) ExitCode() int { return e.code }

// planProgress shows what a plan is doing, with a spinner, on a terminal only.
type planProgress struct {
	w    io.Writer
	on   bool
	stop func()
}

func newPlanProgress(w io.Writer) *planProgress {
	return &planProgress{w: w, on: isTerminal(w), stop: func() {}}
}

// show replaces the message.
func (p *planProgress) show(msg string) {
	p.stop()
	p.stop = cli.StartProgress(p.w, p.on, msg)
}

// done erases the message.
func (p *planProgress) done() {
	p.stop()
}
