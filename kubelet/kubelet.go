// Package kubelet is berth's node agent: it registers its Node, renews the
// node's Lease, and runs the pods bound to the node as containers through a
// [runtime.Runtime] (containerd), each pod in pinned network, IPC and UTS
// namespaces attached to the node's bridge through CNI.
//
// One worker goroutine per pod reconciles level-triggered: it compares the
// pod's spec with the containers the runtime reports (found by their labels,
// so a restarted kubelet adopts what an earlier one started) and takes the
// next step, then writes the pod's status when it changed.
//
//	k, err := kubelet.New(kubelet.Options{NodeName: "n1", Client: cs, DataDir: dir, Runtime: rt})
//	if err != nil { ... }
//	err = k.Run(ctx) // until ctx ends; containers keep running
package kubelet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	eventrecord "k8s.io/client-go/tools/record"

	"github.com/berth-dev/berth/kubelet/backoff"
	"github.com/berth-dev/berth/kubelet/network"
	"github.com/berth-dev/berth/kubelet/runtime"
	"github.com/berth-dev/berth/kubelet/volumes"
)

// Options configure a [Kubelet].
type Options struct {
	// NodeName is the Node's name. Required.
	NodeName string
	// Client talks to the API server with the node's credentials. Required.
	Client kubernetes.Interface
	// DataDir holds the kubelet's state: pinned namespaces (DataDir/netns),
	// CNI configuration and allocations (DataDir/cni), container logs
	// (DataDir/pods) and image tarballs to import (DataDir/images).
	// Required.
	DataDir string
	// Runtime runs the containers. Required.
	Runtime runtime.Runtime
	// HostNetNS is the node's network namespace (a path such as
	// /run/netns/NAME): CNI plugins and probes run there, and the node's
	// InternalIP is its uplink's address. Empty: the process's own.
	HostNetNS string
	// ClusterCIDR is the cluster's pod network, such as 10.42.0.0/16: what
	// pods send to it keeps its source address, the rest is masqueraded.
	// Default: the node's pod CIDR.
	ClusterCIDR string
	// ClusterDNS are the nameservers of pods with dnsPolicy ClusterFirst,
	// such as the node-local DNS server's 169.254.20.10. Empty: such pods
	// get the node's resolv.conf, as with the kubelet's --cluster-dns unset.
	ClusterDNS []string
	// ClusterDomain is the cluster's DNS domain. Default cluster.local.
	ClusterDomain string
	// CNIPluginDirs are searched for the CNI plugins. Default
	// network.DefaultPluginDirs.
	CNIPluginDirs []string
	// Reserved is subtracted from the node's capacity to give its
	// allocatable resources.
	Reserved corev1.ResourceList
	// LogContainers writes each container's output to a log file under
	// DataDir/pods; it needs a Runtime with a log driver. Default: output
	// is dropped.
	LogContainers bool
	// ServerAddr is where the kubelet's HTTPS server (container logs for
	// the API server's pods/log) listens, such as ":10250"; empty: no
	// server. The Node's berth.dev/kubelet-endpoint annotation names it.
	ServerAddr string
	// Logger is for what the kubelet does. Default slog.Default().
	Logger *slog.Logger
	// SyncInterval is how often each pod worker reconciles without an
	// event (to run probes and notice exits). Default 1s.
	SyncInterval time.Duration
	// StatusInterval is how often the Lease is renewed and the Node's
	// status posted. Default 10s.
	StatusInterval time.Duration
	// ImagePollInterval is how often DataDir/images is scanned. Default 3s.
	ImagePollInterval time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Kubelet runs the pods of one node. Create it with [New].
type Kubelet struct {
	opts    Options
	client  kubernetes.Interface
	rt      runtime.Runtime
	log     *slog.Logger
	nsDir   string
	podsDir string
	now     func() time.Time

	net      podNetwork            // set by Run once the pod CIDR is known
	lister   corelisters.PodLister // set by Run
	workers  *podWorkers
	images   *imageImporter
	pins     namespacePins
	endpoint string                    // the kubelet server's URL, set by Run before registering
	events   eventrecord.EventRecorder // the pods' events; drops them until Run starts
	vols     *volumes.Manager
	hostIP   atomic.Pointer[string] // the node's InternalIP, as last found

	// crashBackoff holds back restarts of crashing containers and
	// pullBackoff retries of images that could not be had, both by
	// backoffKey.
	crashBackoff, pullBackoff *backoff.Backoff
}

// podNetwork is what the kubelet needs of a [network.Network].
type podNetwork interface {
	Setup(ctx context.Context, pod network.Pod) (network.Result, error)
	Teardown(ctx context.Context, pod network.Pod) error
}

// New checks opts and fills their defaults. It does not touch the node.
func New(opts Options) (*Kubelet, error) {
	switch {
	case opts.NodeName == "":
		return nil, errors.New("kubelet: NodeName is required")
	case opts.Client == nil:
		return nil, errors.New("kubelet: Client is required")
	case opts.DataDir == "":
		return nil, errors.New("kubelet: DataDir is required")
	case opts.Runtime == nil:
		return nil, errors.New("kubelet: Runtime is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = time.Second
	}
	if opts.StatusInterval <= 0 {
		opts.StatusInterval = 10 * time.Second
	}
	if opts.ImagePollInterval <= 0 {
		opts.ImagePollInterval = 3 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("kubelet: data dir: %w", err)
	}
	opts.DataDir = dataDir
	k := &Kubelet{
		opts:    opts,
		client:  opts.Client,
		rt:      opts.Runtime,
		log:     opts.Logger.With("node", opts.NodeName),
		nsDir:   filepath.Join(dataDir, "netns"),
		podsDir: filepath.Join(dataDir, "pods"),
		now:     opts.Now,
	}
	k.crashBackoff = backoff.New(backoff.Options{})
	k.pullBackoff = backoff.New(backoff.Options{})
	k.pins = realPins{}
	k.events = &eventrecord.FakeRecorder{}
	k.vols = volumes.New(k.podsDir, volumes.Getter{ConfigMap: k.getConfigMap, Secret: k.getSecret})
	k.images = newImageImporter(filepath.Join(dataDir, "images"), opts.Runtime, k.log)
	k.workers = newPodWorkers(k)
	return k, nil
}

// Run registers the node, waits for its pod CIDR, and runs the pods bound
// to it until ctx ends. Containers keep running when it returns, for the
// next Run to adopt.
func (k *Kubelet) Run(ctx context.Context) error {
	for _, d := range []string{k.nsDir, k.podsDir, k.images.dir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("kubelet: %w", err)
		}
	}
	if err := checkCNIPlugins(k.opts.CNIPluginDirs); err != nil {
		return err
	}
	// Events are flushed after Run's context ends, so the last ones
	// (Killing) are not lost.
	ectx, ecancel := context.WithCancel(context.WithoutCancel(ctx))
	defer ecancel()
	broadcaster := eventrecord.NewBroadcaster(eventrecord.WithContext(ectx))
	defer broadcaster.Shutdown()
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: k.client.CoreV1().Events("")})
	k.events = broadcaster.NewRecorder(clientgoscheme.Scheme, corev1.EventSource{Component: "kubelet", Host: k.opts.NodeName})

	k.images.scan(ctx)
	endpoint, err := k.startServer(ctx)
	if err != nil {
		return fmt.Errorf("kubelet: %w", err)
	}
	k.endpoint = endpoint
	podCIDR, err := k.register(ctx)
	if err != nil {
		return err
	}
	cni, err := network.New(network.Options{
		ConfDir:     filepath.Join(k.opts.DataDir, "cni", "conf"),
		DataDir:     filepath.Join(k.opts.DataDir, "cni", "data"),
		PluginDirs:  k.opts.CNIPluginDirs,
		PodCIDR:     podCIDR,
		ClusterCIDR: k.opts.ClusterCIDR,
		HostNetNS:   k.opts.HostNetNS,
	})
	if err != nil {
		return fmt.Errorf("kubelet: %w", err)
	}
	k.net = cni

	factory := informers.NewSharedInformerFactoryWithOptions(k.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", k.opts.NodeName).String()
		}))
	podInformer := factory.Core().V1().Pods()
	k.lister = podInformer.Lister()
	if _, err := podInformer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.workers.notify(ctx, obj) },
		UpdateFunc: func(_, obj any) { k.workers.notify(ctx, obj) },
		DeleteFunc: func(obj any) { k.workers.notify(ctx, obj) },
	}); err != nil {
		return fmt.Errorf("kubelet: pod informer: %w", err)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), podInformer.Informer().HasSynced) {
		return ctx.Err()
	}
	k.log.Info("kubelet running", "podCIDR", podCIDR, "hostNetNS", k.opts.HostNetNS)

	go k.images.run(ctx, k.opts.ImagePollInterval)
	go k.heartbeat(ctx)
	k.collectGarbage(ctx)
	ticker := time.NewTicker(k.opts.StatusInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			k.workers.wait()
			return nil
		case <-ticker.C:
			k.collectGarbage(ctx)
		}
	}
}

// getTimeout bounds the API reads of configMaps and secrets.
const getTimeout = 10 * time.Second

// getConfigMap reads a ConfigMap for volumes and env.
func (k *Kubelet) getConfigMap(ns, name string) (*corev1.ConfigMap, error) {
	ctx, cancel := context.WithTimeout(context.Background(), getTimeout)
	defer cancel()
	return k.client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
}

// getSecret reads a Secret for volumes and env.
func (k *Kubelet) getSecret(ns, name string) (*corev1.Secret, error) {
	ctx, cancel := context.WithTimeout(context.Background(), getTimeout)
	defer cancel()
	return k.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}

// cniPlugins are the CNI plugins the pod network needs.
var cniPlugins = []string{"bridge", "host-local", "portmap", "loopback"}

// checkCNIPlugins fails, naming the package to install, when a CNI plugin
// or iptables is missing, so that the agent says so at start rather than
// at its first pod.
func checkCNIPlugins(dirs []string) error {
	if len(dirs) == 0 {
		dirs = network.DefaultPluginDirs
	}
	var missing []string
	for _, p := range cniPlugins {
		found := false
		for _, d := range dirs {
			if fi, err := os.Stat(filepath.Join(d, p)); err == nil && !fi.IsDir() {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("kubelet: CNI plugins %s not found in %s: install containernetworking-plugins (apt-get install containernetworking-plugins)",
			strings.Join(missing, ", "), strings.Join(dirs, ", "))
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return errors.New("kubelet: iptables not found on PATH, the CNI plugins need it: apt-get install iptables")
	}
	return nil
}
