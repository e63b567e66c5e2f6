package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/cli"
)

// defaultContainerAnnotation names the container `logs` reads when a pod has several
// and -c is not given, as kubectl's.
const defaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// logsFlags are `berth logs`'s flags.
type logsFlags struct {
	clusterFlags
	container  string
	follow     bool
	previous   bool
	tail       int64
	timestamps bool
	since      time.Duration
	limitBytes int64
}

// newLogsCommand builds `berth logs`.
func newLogsCommand(env *readEnv) *cobra.Command {
	var f logsFlags
	cmd := &cobra.Command{
		Use:   "logs POD [-c CONTAINER]",
		Short: "Print a container's log, as kubectl logs",
		Long: `Print the log of a container of a pod, read through the API server's pods/log from
the kubelet of the pod's node. With several containers and no -c, the container named
by the kubectl.kubernetes.io/default-container annotation, else the first one.`,
		Example: `  berth logs web-5d8f7 -n shop
  berth logs web-5d8f7 -c sidecar -f --tail 20
  berth logs web-5d8f7 --previous`,
	}
	readCommand(env, cmd, func(cmd *cobra.Command, args []string) error {
		return runLogs(cmd.Context(), env, &f, cmd, args)
	})
	fs := cmd.Flags()
	f.register(fs, true, false)
	fs.StringVarP(&f.container, "container", "c", "", "container to read (default: the pod's default or only container)")
	fs.BoolVarP(&f.follow, "follow", "f", false, "keep printing lines as they are written")
	fs.BoolVarP(&f.previous, "previous", "p", false, "print the log of the container's previous, terminated attempt")
	fs.Int64Var(&f.tail, "tail", -1, "lines from the end to print (-1: all)")
	fs.BoolVar(&f.timestamps, "timestamps", false, "prefix each line with its RFC3339 timestamp")
	fs.DurationVar(&f.since, "since", 0, "only lines newer than this duration (5s, 2m, 3h)")
	fs.Int64Var(&f.limitBytes, "limit-bytes", 0, "stop after this many bytes (0: no limit)")
	return cmd
}

// podLogOptions maps the flags to the pods/log query.
func (f *logsFlags) podLogOptions(container string) *corev1.PodLogOptions {
	o := &corev1.PodLogOptions{Container: container, Follow: f.follow, Previous: f.previous, Timestamps: f.timestamps}
	if f.tail >= 0 {
		tail := f.tail
		o.TailLines = &tail
	}
	if f.since > 0 {
		secs := int64((f.since + time.Second - 1) / time.Second)
		o.SinceSeconds = &secs
	}
	if f.limitBytes > 0 {
		limit := f.limitBytes
		o.LimitBytes = &limit
	}
	return o
}

// runLogs finds the pod's container and copies its log stream to stdout.
func runLogs(ctx context.Context, env *readEnv, f *logsFlags, cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError(cmd, "expected one pod name: berth logs POD [-c CONTAINER]")
	}
	name := strings.TrimPrefix(strings.TrimPrefix(args[0], "pod/"), "pods/")
	if f.previous && f.follow {
		// kubectl allows it, but the previous attempt's log never grows.
		f.follow = false
	}
	ns, err := f.ns()
	if err != nil {
		return err
	}
	c, err := env.clients(&f.clusterFlags)
	if err != nil {
		return err
	}
	stop := cli.StartProgress(cmd.ErrOrStderr(), env.isTerminal(cmd.ErrOrStderr()), "waiting for the API server at "+serverName(c.config))
	pod, err := c.typed.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	stop()
	if err != nil {
		return err
	}
	container, note, err := logContainer(pod, f.container)
	if err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), note)
	}
	rc, err := c.typed.CoreV1().Pods(ns).GetLogs(name, f.podLogOptions(container)).Stream(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = rc.Close() }()
	if _, err := io.Copy(cmd.OutOrStdout(), rc); err != nil && ctx.Err() == nil {
		return fmt.Errorf("read log of %s/%s: %w", name, container, err)
	}
	return nil
}

// logContainer picks the container to read: the one asked for, else the
// default-container annotation's, else the only or first one (with a note saying
// so, as kubectl prints).
func logContainer(pod *corev1.Pod, asked string) (name, note string, err error) {
	var names []string
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	if asked != "" {
		for _, n := range names {
			if n == asked {
				return asked, "", nil
			}
		}
		return "", "", fmt.Errorf("container %s is not valid for pod %s", asked, pod.Name)
	}
	if len(pod.Spec.Containers) == 0 {
		return "", "", fmt.Errorf("pod %s has no containers", pod.Name)
	}
	if d := pod.Annotations[defaultContainerAnnotation]; d != "" {
		for _, c := range pod.Spec.Containers {
			if c.Name == d {
				return d, "", nil
			}
		}
	}
	first := pod.Spec.Containers[0].Name
	if len(pod.Spec.Containers) == 1 {
		return first, "", nil
	}
	var main []string
	for _, c := range pod.Spec.Containers {
		main = append(main, c.Name)
	}
	return first, fmt.Sprintf("Defaulted container %q out of: %s", first, strings.Join(main, ", ")), nil
}
