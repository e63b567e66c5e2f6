package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/internal/leader"
	"github.com/berth-dev/berth/internal/leader/failover"
	"github.com/berth-dev/berth/internal/testetcd"
	"github.com/berth-dev/berth/sync"
	"github.com/berth-dev/berth/test/hollow"
)

const haNamespace = "ha"

// haDeployment is a Deployment of two replicas in the ha namespace, as YAML
// for the git repository.
func haDeployment(name string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  replicas: 2
  selector: {matchLabels: {app: %[1]s}}
  template:
    metadata: {labels: {app: %[1]s}}
    spec:
      containers: [{name: %[1]s, image: "hello:1"}]
`, name, haNamespace)
}

// TestHAControlPlaneFailover runs two `berth server` processes on a
// three-member etcd cluster, following one git repository, with a hollow
// node whose client knows both servers. Exactly one server leads; after the
// leader is killed with SIGKILL the other takes over, a Deployment committed
// to git afterwards is applied and rolled out (sync, controllers and
// scheduler run on the new leader), one created through the survivor's API
// too, and the killed server's tokens work on the survivor. Restarted, the
// killed server follows; the leader stopped with SIGTERM hands over to it.
func TestHAControlPlaneFailover(t *testing.T) {
	etcd := testetcd.StartCluster(t, 3)
	repo := newGitRepo(t)
	repo.commit("namespace and web1", map[string]string{
		"ns.yaml":   "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + haNamespace + "}\n",
		"web1.yaml": haDeployment("web1"),
	})
	servers := map[string]*berthNode{}
	procs := map[string]*berthProcess{}
	for _, id := range []string{"a", "b"} {
		servers[id] = newBerthNode(t, "--etcd-endpoints", strings.Join(etcd.Endpoints(), ","),
			"--leader-identity", id, "--leader-elect-lease-duration", "5s", "--repo", repo.dir)
		procs[id] = servers[id].start()
	}

	// Exactly one leads: the first election key, the Lease, and the logs agree.
	first := leaseHolder(t, servers["a"].client(), "")
	other := map[string]string{"a": "b", "b": "a"}[first]
	if first != "a" && first != "b" {
		t.Fatalf("Lease holder %q is neither server", first)
	}
	keys, err := etcd.Client().Get(ctx(t), leader.DefaultPrefix, clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByCreateRevision, clientv3.SortAscend))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys.Kvs) != 2 || string(keys.Kvs[0].Value) != first || string(keys.Kvs[1].Value) != other {
		t.Fatalf("election keys: %v; want %s then %s", keys.Kvs, first, other)
	}
	for id, n := range servers {
		log, _ := os.ReadFile(n.logPath)
		if got, want := bytes.Contains(log, []byte("became leader")), id == first; got != want {
			t.Fatalf("server %s: log says it became leader: %v, want %v", id, got, want)
		}
	}

	// Both servers hold the same CA and tokens.
	for _, f := range []string{"ca.crt", "tokens.csv"} {
		x, _ := os.ReadFile(filepath.Join(servers["a"].dataDir, "tls", f))
		y, _ := os.ReadFile(filepath.Join(servers["b"].dataDir, "tls", f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Fatalf("tls/%s differs between the servers", f)
		}
	}

	// A hollow node, the leader's URL first, so that it must fail over.
	nodeCfg := haConfig(t, servers[first], "node.kubeconfig", servers[first], servers[other])
	nodeClient := kubernetes.NewForConfigOrDie(nodeCfg)
	fleet := hollow.NewFleet(nodeClient)
	fctx, stopFleet := context.WithCancel(context.Background())
	fleetDone := make(chan struct{})
	t.Cleanup(func() { stopFleet(); <-fleetDone })
	if _, err := fleet.Add(fctx, hollow.Options{Name: "ha-node", RenewInterval: 2 * time.Second}); err != nil {
		t.Fatalf("hollow node: %v", err)
	}
	go func() { defer close(fleetDone); _ = fleet.Run(fctx) }()

	survivorClient := servers[other].client()
	waitDeploymentReady(t, survivorClient, "web1")
	haWebhookThroughFollower(t, servers[other])

	// Kill the leader; the other takes over.
	killed := time.Now()
	if err := procs[first].stop(syscall.SIGKILL); err == nil {
		t.Fatal("berth server exited 0 on SIGKILL")
	}
	if got := leaseHolder(t, survivorClient, first); got != other {
		t.Fatalf("after the kill the Lease names %q, want %s", got, other)
	}
	t.Logf("failover: %s leads %v after %s was killed", other, time.Since(killed).Round(10*time.Millisecond), first)

	// The killed server's admin token and CA work on the survivor.
	if _, err := kubernetes.NewForConfigOrDie(haConfig(t, servers[first], "admin.kubeconfig", servers[other])).
		CoreV1().Namespaces().Get(ctx(t), haNamespace, metav1.GetOptions{}); err != nil {
		t.Fatalf("the killed server's admin kubeconfig on the survivor: %v", err)
	}

	// A commit after the failover is synced and rolled out by the new leader,
	// with the hollow node reporting through the survivor.
	repo.commit("web2", map[string]string{"web2.yaml": haDeployment("web2")})
	waitDeploymentReady(t, survivorClient, "web2")

	// So is a Deployment created through the survivor's API.
	d := restartDeployment("web3")
	if _, err := survivorClient.AppsV1().Deployments(haNamespace).Create(ctx(t), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDeploymentReady(t, survivorClient, "web3")

	// The node's client moved to the survivor and still works.
	if _, err := nodeClient.CoreV1().Nodes().Get(ctx(t), "ha-node", metav1.GetOptions{}); err != nil {
		t.Fatalf("the node's client after the kill: %v", err)
	}

	// The killed server comes back as a follower; the leader, stopped with
	// SIGTERM, resigns and hands over without waiting for its session to
	// expire.
	procs[first] = servers[first].start()
	if got := leaseHolder(t, servers[first].client(), ""); got != other {
		t.Fatalf("with %s back, the Lease names %q, want %s", first, got, other)
	}
	stopped := time.Now()
	if err := procs[other].cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := leaseHolder(t, servers[first].client(), other); got != first {
		t.Fatalf("after SIGTERM the Lease names %q, want %s", got, first)
	}
	t.Logf("handover: %s leads %v after %s was sent SIGTERM", first, time.Since(stopped).Round(10*time.Millisecond), other)
	if err := procs[other].stop(syscall.SIGTERM); err != nil {
		t.Fatalf("berth server on SIGTERM: %v", err)
	}
	d = restartDeployment("web4")
	if _, err := servers[first].client().AppsV1().Deployments(haNamespace).Create(ctx(t), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitDeploymentReady(t, servers[first].client(), "web4")
}

// haConfig is the client config of a kubeconfig in n's data dir, failing
// over between the servers given.
func haConfig(t *testing.T, n *berthNode, kubeconfig string, servers ...*berthNode) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(n.dataDir, kubeconfig))
	if err != nil {
		t.Fatal(err)
	}
	cfg.QPS = -1
	urls := make([]string, len(servers))
	for i, s := range servers {
		urls[i] = "https://" + s.listen
	}
	cfg.Host = urls[0]
	if len(urls) > 1 {
		if cfg, err = failover.Config(cfg, urls); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

// leaseHolder waits until the leader Lease names a holder other than not,
// and returns it.
func leaseHolder(t *testing.T, c kubernetes.Interface, not string) string {
	t.Helper()
	var holder string
	eventually(t, 30*time.Second, "a leader other than "+fmt.Sprintf("%q", not), func() bool {
		l, err := c.CoordinationV1().Leases(leader.LeaseNamespace).Get(context.Background(), leader.LeaseName, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return false
		}
		holder = *l.Spec.HolderIdentity
		return holder != "" && holder != not
	})
	return holder
}

// waitDeploymentReady waits until the Deployment name in the ha namespace
// exists and has all its replicas bound and Ready.
func waitDeploymentReady(t *testing.T, c kubernetes.Interface, name string) {
	t.Helper()
	eventually(t, 60*time.Second, "deployment "+name+" ready", func() bool {
		d, err := c.AppsV1().Deployments(haNamespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil || d.Spec.Replicas == nil {
			return false
		}
		pods, err := c.CoreV1().Pods(haNamespace).List(context.Background(), metav1.ListOptions{
			LabelSelector: labels.SelectorFromSet(d.Spec.Selector.MatchLabels).String(),
		})
		if err != nil {
			return false
		}
		ready := 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" && haPodReady(&p) {
				ready++
			}
		}
		return ready == int(*d.Spec.Replicas) && d.Status.ReadyReplicas == *d.Spec.Replicas
	})
}

func haPodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// haWebhookThroughFollower gives the GitSource "default" a webhook secret
// and posts a push to the follower n, which forwards it to the leader's sync
// controller (202); the follower alone would answer 503.
func haWebhookThroughFollower(t *testing.T, n *berthNode) {
	t.Helper()
	c := n.client()
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "hook", Namespace: metav1.NamespaceSystem},
		StringData: map[string]string{"token": "push-token"},
	}
	if _, err := c.CoreV1().Secrets(metav1.NamespaceSystem).Create(ctx(t), secret, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(n.dataDir, "admin.kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamic.NewForConfigOrDie(cfg)
	patch := []byte(`{"spec":{"webhookSecretRef":{"name":"hook"}}}`)
	if _, err := dyn.Resource(registry.GitSources().GroupVersionResource()).Namespace(metav1.NamespaceSystem).
		Patch(ctx(t), "default", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatalf("set the webhook secret of the default GitSource: %v", err)
	}
	rt, err := rest.TransportFor(&rest.Config{TLSClientConfig: cfg.TLSClientConfig})
	if err != nil {
		t.Fatal(err)
	}
	var last string
	eventually(t, 20*time.Second, "the follower to forward a push (last answer: "+last+")", func() bool {
		req, _ := http.NewRequest(http.MethodPost, "https://"+n.listen+sync.WebhookPath+"default", strings.NewReader(`{"ref":"refs/heads/main"}`))
		req.Header.Set("X-Gitlab-Token", "push-token")
		req.Header.Set("X-Gitlab-Event", "Push Hook")
		resp, err := rt.RoundTrip(req)
		if err != nil {
			last = err.Error()
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		last = resp.Status + " " + string(body)
		return resp.StatusCode == http.StatusAccepted
	})
}
