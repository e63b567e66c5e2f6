package cli

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/sync"
)

// planDefaultSource is the GitSource `berth server --repo` creates.
var planDefaultSource = sync.Source{Namespace: metav1.NamespaceSystem, Name: "default"}

// planCluster reads a live cluster for a plan, and only reads.
type planCluster struct {
	reader     *planReader
	client     kubernetes.Interface
	namespaces map[string]bool
}

// planConnect builds the clients and reads the namespaces, which also proves
// that the server answers.
func planConnect(ctx context.Context, cfg *rest.Config) (*planCluster, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = "berth-plan"
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster client: %w", err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster client: %w", err)
	}
	l, err := client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the cluster: list namespaces: %w", err)
	}
	c := &planCluster{reader: newPlanReader(dyn), client: client, namespaces: map[string]bool{}}
	for _, ns := range l.Items {
		c.namespaces[ns.Name] = true
	}
	return c, nil
}

// source finds the GitSource the plan is for: the one named ("namespace/name",
// or a name in kube-system), else the cluster's only one, else kube-system/default.
// It returns the source's path in its repository, and whether it exists.
func (c *planCluster) source(ctx context.Context, name string) (src sync.Source, path string, found bool, err error) {
	l, err := c.reader.Resource(registry.GitSources().GroupVersionResource()).List(ctx, metav1.ListOptions{})
	if err != nil {
		return src, "", false, fmt.Errorf("read the cluster: list gitsources: %w", err)
	}
	all := map[sync.Source]*berthv1.GitSource{}
	var names []string
	for i := range l.Items {
		gs := &berthv1.GitSource{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(l.Items[i].Object, gs); err != nil {
			return src, "", false, fmt.Errorf("decode gitsource %s/%s: %w", l.Items[i].GetNamespace(), l.Items[i].GetName(), err)
		}
		s := sync.Source{Namespace: gs.Namespace, Name: gs.Name}
		all[s] = gs
		names = append(names, s.String())
	}
	sort.Strings(names)
	switch {
	case name != "":
		src = planDefaultSource
		if ns, n, ok := strings.Cut(name, "/"); ok {
			src = sync.Source{Namespace: ns, Name: n}
		} else {
			src.Name = name
		}
		if all[src] == nil {
			return src, "", false, fmt.Errorf("gitsource %s not found (the cluster has: %s)", src, planList(names))
		}
	case len(all) == 1:
		for s := range all {
			src = s
		}
	case all[planDefaultSource] != nil || len(all) == 0:
		src = planDefaultSource
	default:
		return src, "", false, fmt.Errorf("the cluster has %d gitsources (%s): choose one with --source", len(all), planList(names))
	}
	if gs := all[src]; gs != nil {
		return src, gs.Spec.Path, true, nil
	}
	return src, "", false, nil
}

// planList joins names, or says there are none.
func planList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// nodesAndPods reads the nodes and the pods bound to them.
func (c *planCluster) nodesAndPods(ctx context.Context) ([]*corev1.Node, []*corev1.Pod, error) {
	nl, err := c.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("read the cluster: list nodes: %w", err)
	}
	pl, err := c.client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("read the cluster: list pods: %w", err)
	}
	nodes := make([]*corev1.Node, len(nl.Items))
	for i := range nl.Items {
		nodes[i] = &nl.Items[i]
	}
	var pods []*corev1.Pod
	for i := range pl.Items {
		if pl.Items[i].Spec.NodeName != "" {
			pods = append(pods, &pl.Items[i])
		}
	}
	return nodes, pods, nil
}

// unreadable says whether the plan's credentials may not read a kind.
func (c *planCluster) unreadable(k *registry.Kind) bool {
	return c.reader.isUnreadable(k.GroupResource())
}
