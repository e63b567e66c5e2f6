package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/berth-dev/berth/cli"
)

// eventsFlags are `berth events`'s flags.
type eventsFlags struct {
	clusterFlags
	watch bool
	types []string
	// forObject is KIND/NAME: only the events about that object.
	forObject string
}

// newEventsCommand builds `berth events`.
func newEventsCommand(env *readEnv) *cobra.Command {
	var f eventsFlags
	cmd := &cobra.Command{
		Use:   "events [-n NS | -A] [--watch]",
		Short: "List events, oldest first, as kubectl events",
		Example: `  berth events -A --types Warning
  berth events -n shop --watch
  berth events -n shop --for deploy/web`,
	}
	readCommand(env, cmd, func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usageError(cmd, "unexpected arguments %q", args)
		}
		return runEvents(cmd.Context(), env, &f, cmd)
	})
	fs := cmd.Flags()
	f.register(fs, true, true)
	fs.BoolVarP(&f.watch, "watch", "w", false, "after listing, print events as they happen")
	fs.StringSliceVar(&f.types, "types", nil, "only events of these types (Normal, Warning)")
	fs.StringVar(&f.forObject, "for", "", "only events about this object, as KIND/NAME (pod/web, deploy/web)")
	return cmd
}

// runEvents lists the events, then follows them with --watch.
func runEvents(ctx context.Context, env *readEnv, f *eventsFlags, cmd *cobra.Command) error {
	for _, t := range f.types {
		if t != corev1.EventTypeNormal && t != corev1.EventTypeWarning {
			return usageError(cmd, "--types: unknown event type %q: want Normal or Warning", t)
		}
	}
	ns, err := f.ns()
	if err != nil {
		return err
	}
	c, err := env.clients(&f.clusterFlags)
	if err != nil {
		return err
	}
	events := c.typed.CoreV1().Events(ns)
	stop := cli.StartProgress(cmd.ErrOrStderr(), env.isTerminal(cmd.ErrOrStderr()), "waiting for the API server at "+serverName(c.config))
	sel, err := f.selector(c)
	if err != nil {
		stop()
		return err
	}
	list, err := events.List(ctx, metav1.ListOptions{FieldSelector: sel})
	stop()
	if err != nil {
		return err
	}
	items := slices.DeleteFunc(list.Items, func(e corev1.Event) bool { return !f.wanted(&e) })
	cli.SortEvents(items)
	out := cmd.OutOrStdout()
	if len(items) == 0 && !f.watch {
		if ns == "" {
			fmt.Fprintln(cmd.ErrOrStderr(), "No events found.")
		} else {
			fmt.Fprintf(cmd.ErrOrStderr(), "No events found in %s namespace.\n", ns)
		}
		return nil
	}
	if err := cli.EventsTable(items, env.now(), ns == "").Write(out, false); err != nil {
		return err
	}
	if !f.watch {
		return nil
	}
	w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return events.Watch(ctx, o)
		},
	})
	if err != nil {
		return fmt.Errorf("watch events: %w", err)
	}
	defer w.Stop()
	return printEventWatch(ctx, w, env, f, ns == "", out)
}

// printEventWatch prints a row for each event added or updated, until ctx ends.
func printEventWatch(ctx context.Context, w watch.Interface, env *readEnv, f *eventsFlags, withNS bool, out io.Writer) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("watch events: the watch ended")
			}
			if ev.Type == watch.Error {
				return fmt.Errorf("watch events: %v", ev.Object)
			}
			e, isEvent := ev.Object.(*corev1.Event)
			if !isEvent || ev.Type == watch.Deleted || !f.wanted(e) {
				continue
			}
			if err := cli.EventsTable([]corev1.Event{*e}, env.now(), withNS).Write(out, true); err != nil {
				return err
			}
		}
	}
}

// selector is the field selector of --for: the object's kind and name.
func (f *eventsFlags) selector(c *clients) (string, error) {
	if f.forObject == "" {
		return "", nil
	}
	kind, name, ok := strings.Cut(f.forObject, "/")
	if !ok || kind == "" || name == "" {
		return "", fmt.Errorf("--for %q: want KIND/NAME, such as pod/web", f.forObject)
	}
	m, err := resolveKind(c, kind)
	if err != nil {
		return "", err
	}
	return fields.Set{"involvedObject.kind": m.GroupVersionKind.Kind, "involvedObject.name": name}.AsSelector().String(), nil
}

// wanted says whether --types lets an event through.
func (f *eventsFlags) wanted(e *corev1.Event) bool {
	return len(f.types) == 0 || slices.ContainsFunc(f.types, func(t string) bool { return strings.EqualFold(t, e.Type) })
}
