package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/berth-dev/berth/cli"
)

// describeFlags are `berth describe`'s flags.
type describeFlags struct {
	clusterFlags
	selector string
}

// newDescribeCommand builds `berth describe`.
func newDescribeCommand(env *readEnv) *cobra.Command {
	var f describeFlags
	cmd := &cobra.Command{
		Use:   "describe KIND [NAME...] | KIND/NAME...",
		Short: "Show an object in detail, with its events, as kubectl describe",
		Long: `Show objects in detail: a page of their own for pods, deployments, replica sets,
daemon sets, jobs, services, nodes and git sources, every field for other kinds; then
the events about the object, oldest first. Without a name, every object of the kind
(matching -l) is described.`,
		Example: `  berth describe pod web-5d8f7 -n shop
  berth describe gs default -n kube-system
  berth describe node/node-1`,
	}
	readCommand(env, cmd, func(cmd *cobra.Command, args []string) error {
		return runDescribe(cmd.Context(), env, &f, cmd, args)
	})
	fs := cmd.Flags()
	f.register(fs, true, true)
	fs.StringVarP(&f.selector, "selector", "l", "", "label selector of the objects to describe, without names")
	return cmd
}

// runDescribe fetches each object and its events and prints them, separated by
// blank lines.
func runDescribe(ctx context.Context, env *readEnv, f *describeFlags, cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return usageError(cmd, "you must specify the type of resource to describe, such as pod, deployment, service, node or gitsource")
	}
	ns, c, reqs, err := env.resolve(cmd, &f.clusterFlags, args)
	if err != nil {
		return err
	}
	gf := &getFlags{selector: f.selector}
	var objs []unstructured.Unstructured
	for _, r := range reqs {
		got, err := readObjects(ctx, c, r, ns, gf)
		if err != nil {
			return err
		}
		objs = append(objs, got...)
	}
	if len(objs) == 0 {
		noResources(cmd.ErrOrStderr(), reqs, ns)
		return nil
	}
	out := cmd.OutOrStdout()
	for i := range objs {
		u := &objs[i]
		rel, err := related(ctx, c, u)
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprint(out, "\n\n")
		}
		if err := cli.Describe(out, u, rel, env.now()); err != nil {
			return err
		}
	}
	return nil
}

// related reads what the description of u shows besides u: its events, and a
// Node's pods.
func related(ctx context.Context, c *clients, u *unstructured.Unstructured) (cli.Related, error) {
	var rel cli.Related
	var err error
	if rel.Events, err = objectEvents(ctx, c, u); err != nil {
		return rel, err
	}
	if u.GetKind() == "Node" && u.GroupVersionKind().Group == "" {
		sel := fields.OneTermEqualSelector("spec.nodeName", u.GetName()).String()
		pods, err := c.typed.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return rel, fmt.Errorf("list pods of node %s: %w", u.GetName(), err)
		}
		rel.NodePods = pods.Items
	}
	return rel, nil
}

// objectEvents lists the events about an object, as kubectl describe finds them:
// by the object's kind, name and namespace, then its UID (a Node's events carry
// the node's name as UID, as the kubelet records them).
func objectEvents(ctx context.Context, c *clients, u *unstructured.Unstructured) ([]corev1.Event, error) {
	sel := fields.Set{"involvedObject.name": u.GetName(), "involvedObject.kind": u.GetKind()}
	if u.GetNamespace() != "" {
		sel["involvedObject.namespace"] = u.GetNamespace()
	}
	list, err := c.typed.CoreV1().Events(u.GetNamespace()).List(ctx, metav1.ListOptions{FieldSelector: sel.AsSelector().String()})
	if err != nil {
		if meta.IsNoMatchError(err) || isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("list events of %s %s: %w", strings.ToLower(u.GetKind()), u.GetName(), err)
	}
	var out []corev1.Event
	for _, e := range list.Items {
		if uid := string(e.InvolvedObject.UID); uid == "" || uid == string(u.GetUID()) || uid == u.GetName() {
			out = append(out, e)
		}
	}
	return out, nil
}
