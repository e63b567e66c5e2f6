package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/transport"

	"github.com/berth-dev/berth/cli"
)

// readCommands returns the read-only commands: status, get, describe, logs and
// events. None of them writes to the cluster; they use the readonly kubeconfig
// unless told otherwise (see readonlyConfig).
func readCommands() []*cobra.Command {
	env := defaultReadEnv()
	return []*cobra.Command{
		newStatusCommand(env), newGetCommand(env), newDescribeCommand(env),
		newLogsCommand(env), newEventsCommand(env),
	}
}

// readEnv is what the read commands take from their surroundings: the clock, the
// terminal and the client config. Tests replace parts of it.
type readEnv struct {
	// now is the clock ages are computed against.
	now func() time.Time
	// isTerminal says whether w is a terminal: colour, redraws and progress then.
	isTerminal func(w io.Writer) bool
	// config loads the REST config from the --kubeconfig flag's value.
	config func(kubeconfig string) (*rest.Config, error)
	// wrapTransport, when set, wraps every request's transport (tests record them).
	wrapTransport transport.WrapperFunc
}

// defaultReadEnv is the real clock, terminal and kubeconfig.
func defaultReadEnv() *readEnv {
	return &readEnv{now: time.Now, isTerminal: isTerminal, config: readonlyConfig}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// clusterFlags are the flags every read command has: which cluster, which namespace.
type clusterFlags struct {
	kubeconfig    string
	namespace     string
	allNamespaces bool
}

// register adds --kubeconfig and, when namespaced, -n and -A.
func (f *clusterFlags) register(fs *pflag.FlagSet, namespaced, all bool) {
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG, else "+defaultReadonlyKubeconfig+")")
	if namespaced {
		fs.StringVarP(&f.namespace, "namespace", "n", "", "namespace (default: the kubeconfig context's, else default)")
	}
	if all {
		fs.BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "list across all namespaces")
	}
}

// ns returns the namespace to read: -n, else the kubeconfig context's, else
// "default"; "" with -A.
func (f *clusterFlags) ns() (string, error) {
	if f.allNamespaces {
		return "", nil
	}
	if f.namespace != "" {
		return f.namespace, nil
	}
	return defaultNamespace(f.kubeconfig)
}

// clients are the API clients of one command run.
type clients struct {
	config  *rest.Config
	typed   kubernetes.Interface
	dynamic dynamic.Interface
	disco   discovery.CachedDiscoveryInterface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
}

// clients loads the config named by the flags and builds the clients.
func (e *readEnv) clients(f *clusterFlags) (*clients, error) {
	cfg, err := e.config(f.kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	if e.wrapTransport != nil {
		cfg.Wrap(e.wrapTransport)
	}
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	c := &clients{config: cfg}
	if c.typed, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("API client: %w", err)
	}
	if c.dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("API client: %w", err)
	}
	d, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	c.disco = memory.NewMemCacheClient(d)
	c.mapper = restmapper.NewDeferredDiscoveryRESTMapper(c.disco)
	return c, nil
}

// readCommand makes cmd print its errors as kubectl does ("Error from server
// (NotFound): pods \"web\" not found", "error: ...") instead of cobra's "Error: ...",
// including errors in its flags and arguments.
func readCommand(cmd *cobra.Command, run func(cmd *cobra.Command, args []string) error) *cobra.Command {
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		err := run(cmd, args)
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(cmd.ErrOrStderr(), cli.ErrorMessage(err))
		}
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	}
	cmd.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		fmt.Fprintf(cmd.ErrOrStderr(), "error: %v\nSee '%s --help' for usage.\n", err, cmd.CommandPath())
		return err
	})
	return cmd
}

// usageError is an error in a command's arguments, printed with a pointer to --help.
func usageError(cmd *cobra.Command, format string, a ...any) error {
	return fmt.Errorf("%s\nSee '%s --help' for usage", fmt.Sprintf(format, a...), cmd.CommandPath())
}

// isNotFound reports whether err is an API NotFound error.
func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

// serverName is the host of a config's server URL, for messages.
func serverName(cfg *rest.Config) string {
	if u, err := url.Parse(cfg.Host); err == nil && u.Host != "" {
		return u.Host
	}
	return strings.TrimPrefix(cfg.Host, "https://")
}

// wellKnownShortNames are kubectl's short names, used when the server's discovery
// does not publish one (berth's lists po, deploy, svc, ns, no, cm, rs, ds, ev, sa, gs).
var wellKnownShortNames = map[string]string{
	"po": "pods", "svc": "services", "deploy": "deployments.apps", "ns": "namespaces", "no": "nodes",
	"cm": "configmaps", "rs": "replicasets.apps", "ds": "daemonsets.apps", "ev": "events", "sa": "serviceaccounts",
	"ep": "endpoints", "sts": "statefulsets.apps", "pvc": "persistentvolumeclaims", "pv": "persistentvolumes",
	"ing": "ingresses.networking.k8s.io", "cj": "cronjobs.batch", "hpa": "horizontalpodautoscalers.autoscaling",
	"netpol": "networkpolicies.networking.k8s.io", "pdb": "poddisruptionbudgets.policy",
	"rc": "replicationcontrollers", "limits": "limitranges", "quota": "resourcequotas",
	"crd": "customresourcedefinitions.apiextensions.k8s.io", "sc": "storageclasses.storage.k8s.io",
	"csr": "certificatesigningrequests.certificates.k8s.io", "pc": "priorityclasses.scheduling.k8s.io",
	"gs": "gitsources.berth.dev",
}

// resolveKind maps a resource name, singular name, kind or short name, optionally
// qualified ("deployments.apps", "deployments.v1.apps"), to the server's resource.
func resolveKind(c *clients, arg string) (*meta.RESTMapping, error) {
	mapper := restmapper.NewShortcutExpander(c.mapper, c.disco, func(string) {})
	m, err := mapKind(mapper, arg)
	if err == nil {
		return m, nil
	}
	if !meta.IsNoMatchError(err) {
		return nil, fmt.Errorf("resolve kind %q: %w", arg, err)
	}
	if full, ok := wellKnownShortNames[strings.ToLower(arg)]; ok {
		if m, err := mapKind(mapper, full); err == nil {
			return m, nil
		}
	}
	return nil, &cli.UnknownResourceError{Name: arg}
}

// mapKind asks the mapper for arg as a resource, then as a kind.
func mapKind(mapper meta.RESTMapper, arg string) (*meta.RESTMapping, error) {
	gvr, gr := schema.ParseResourceArg(strings.ToLower(arg))
	var gvk schema.GroupVersionKind
	var err error
	if gvr != nil {
		gvk, err = mapper.KindFor(*gvr)
	}
	if gvk.Empty() {
		gvk, err = mapper.KindFor(gr.WithVersion(""))
	}
	if gvk.Empty() {
		// A kind, as in "Deployment" or "Deployment.apps".
		gk := schema.ParseGroupKind(arg)
		if m, kerr := mapper.RESTMapping(gk); kerr == nil {
			return m, nil
		}
		return nil, err
	}
	return mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
}

// resolveKinds is resolveKind, except that a category such as "all" expands to its
// resources.
func resolveKinds(c *clients, arg string) ([]*meta.RESTMapping, error) {
	m, err := resolveKind(c, arg)
	if err == nil {
		return []*meta.RESTMapping{m}, nil
	}
	cats := restmapper.NewDiscoveryCategoryExpander(c.disco)
	grs, ok := cats.Expand(strings.ToLower(arg))
	if !ok || len(grs) == 0 {
		return nil, err
	}
	var out []*meta.RESTMapping
	for _, gr := range grs {
		gvk, kerr := c.mapper.KindFor(gr.WithVersion(""))
		if kerr != nil {
			continue
		}
		m, merr := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if merr != nil {
			continue
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, err
	}
	return out, nil
}
