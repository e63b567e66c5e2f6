package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/transport"
	"k8s.io/klog/v2"

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
	// quietKlog silences client-go's klog output for the process: set in the
	// berth binary, where a read command is all the process runs; not in tests,
	// where components log concurrently.
	quietKlog bool
}

// defaultReadEnv is the real clock, terminal and kubeconfig.
func defaultReadEnv() *readEnv {
	return &readEnv{now: time.Now, isTerminal: isTerminal, config: readonlyConfig, quietKlog: true}
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
	disco   discovery.DiscoveryInterface
	// now is the command's clock.
	now func() time.Time
	// index is filled by kinds on first use.
	index *kindIndex
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
	c := &clients{config: cfg, now: e.now}
	if c.typed, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("API client: %w", err)
	}
	if c.dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("API client: %w", err)
	}
	// Not memory.NewMemCacheClient: it reports failures through klog besides
	// returning them.
	if c.disco, err = discovery.NewDiscoveryClientForConfig(cfg); err != nil {
		return nil, fmt.Errorf("discovery client: %w", err)
	}
	return c, nil
}

// readCommand makes cmd print its errors as kubectl does ("Error from server
// (NotFound): pods \"web\" not found", "error: ...") instead of cobra's "Error: ...",
// including errors in its flags and arguments.
func readCommand(env *readEnv, cmd *cobra.Command, run func(cmd *cobra.Command, args []string) error) *cobra.Command {
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if env.quietKlog {
			// client-go's informers also report through klog what the command
			// reports itself (a watch that failed while the screen is drawn).
			klog.SetLogger(logr.Discard())
		}
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

// kindIndex is what the server's discovery says about its resources, fetched
// once per command: the REST mapper, the short names and the categories.
type kindIndex struct {
	mapper     meta.RESTMapper
	short      map[string]string                 // "po" → "pods", "deploy" → "deployments.apps"
	categories map[string][]schema.GroupResource // "all" → pods, services, ...
}

// kinds reads the server's discovery once and indexes it.
func (c *clients) kinds() (*kindIndex, error) {
	if c.index != nil {
		return c.index, nil
	}
	groups, err := restmapper.GetAPIGroupResources(c.disco)
	if err != nil {
		return nil, err
	}
	ix := &kindIndex{mapper: restmapper.NewDiscoveryRESTMapper(groups), short: map[string]string{}, categories: map[string][]schema.GroupResource{}}
	for _, g := range groups {
		for _, list := range g.VersionedResources {
			for _, r := range list {
				if strings.Contains(r.Name, "/") {
					continue
				}
				full := r.Name
				if g.Group.Name != "" {
					full += "." + g.Group.Name
				}
				for _, sn := range r.ShortNames {
					ix.short[sn] = full
				}
				for _, cat := range r.Categories {
					gr := schema.GroupResource{Group: g.Group.Name, Resource: r.Name}
					if !slices.Contains(ix.categories[cat], gr) {
						ix.categories[cat] = append(ix.categories[cat], gr)
					}
				}
			}
		}
	}
	c.index = ix
	return ix, nil
}

// resolveKind maps a resource name, singular name, kind or short name, optionally
// qualified ("deployments.apps", "deployments.v1.apps"), to the server's resource.
// Short names are the server's, then kubectl's well-known ones.
func resolveKind(c *clients, arg string) (*meta.RESTMapping, error) {
	ix, err := c.kinds()
	if err != nil {
		return nil, err
	}
	lower := strings.ToLower(arg)
	candidates := []string{arg}
	if full, ok := ix.short[lower]; ok {
		candidates = []string{full}
	} else if full, ok := wellKnownShortNames[lower]; ok {
		candidates = append(candidates, full)
	}
	for _, a := range candidates {
		m, err := mapKind(ix.mapper, a)
		if err == nil {
			return m, nil
		}
		if !meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("resolve kind %q: %w", arg, err)
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
	ix, ierr := c.kinds()
	if ierr != nil {
		return nil, ierr
	}
	var out []*meta.RESTMapping
	for _, gr := range ix.categories[strings.ToLower(arg)] {
		if m, merr := mapKind(ix.mapper, gr.String()); merr == nil {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, err
	}
	return out, nil
}
