package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	berthv1 "github.com/berth-dev/berth/api/v1alpha1"
	"github.com/berth-dev/berth/cli"
)

// tableAccept asks the API server for a meta.k8s.io Table, as kubectl get does,
// and for plain JSON from a server that has no Tables.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

// getFlags are `berth get`'s flags.
type getFlags struct {
	clusterFlags
	selector      string
	fieldSelector string
	output        string
	noHeaders     bool
	watch         bool
}

// newGetCommand builds `berth get`.
func newGetCommand(env *readEnv) *cobra.Command {
	var f getFlags
	cmd := &cobra.Command{
		Use:   "get KIND[,KIND...] [NAME...] | KIND/NAME...",
		Short: "Display one or many objects, as kubectl get",
		Long: `Display one or many objects of any kind the API server serves, by resource name,
singular name, kind or short name (po, deploy, svc, ns, no, cm, rs, ds, ev, sa, gs...),
with the columns kubectl prints, from the server's Table rendering. "all" lists the
kinds of the category all (pods, services, deployments, ...).`,
		Example: `  berth get pods -A
  berth get deploy web -n shop -o yaml
  berth get po -l app=web -o wide
  berth get gitsources -n kube-system`,
	}
	readCommand(env, cmd, func(cmd *cobra.Command, args []string) error {
		return runGet(cmd.Context(), env, &f, cmd, args)
	})
	fs := cmd.Flags()
	f.register(fs, true, true)
	fs.StringVarP(&f.selector, "selector", "l", "", "label selector (key=value, key!=value, key in (a,b), ...)")
	fs.StringVar(&f.fieldSelector, "field-selector", "", "field selector (metadata.name=web, spec.nodeName=node-1, ...)")
	fs.StringVarP(&f.output, "output", "o", "", "output format: wide, yaml, json or name")
	fs.BoolVar(&f.noHeaders, "no-headers", false, "omit the table headers")
	fs.BoolVarP(&f.watch, "watch", "w", false, "after listing, print each object again when it changes")
	return cmd
}

// getRequest is one kind to read, with the names asked for (none: list).
type getRequest struct {
	mapping *meta.RESTMapping
	names   []string
}

// runGet resolves the arguments, then prints each kind's objects.
func runGet(ctx context.Context, env *readEnv, f *getFlags, cmd *cobra.Command, args []string) error {
	switch f.output {
	case "", "wide", "yaml", "json", "name":
	default:
		return usageError(cmd, "unknown output format %q: want wide, yaml, json or name", f.output)
	}
	if len(args) == 0 {
		return usageError(cmd, "you must specify the type of resource to get, such as pods, deployments, services, nodes or gitsources")
	}
	if f.allNamespaces && (len(args) > 1 || strings.Contains(args[0], "/")) {
		return fmt.Errorf("a resource cannot be retrieved by name across all namespaces")
	}
	ns, c, reqs, err := env.resolve(cmd, &f.clusterFlags, args)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if f.watch {
		if len(reqs) != 1 || (f.output != "" && f.output != "wide") || len(reqs[0].names) > 1 {
			return usageError(cmd, "--watch works with one kind, at most one name, and table output")
		}
		return watchGet(ctx, c, reqs[0], ns, f, out)
	}
	switch f.output {
	case "yaml", "json":
		return getObjects(ctx, c, reqs, ns, f, out)
	case "name":
		return getNames(ctx, c, reqs, ns, f, out)
	}
	printed := false
	prefix := len(reqs) > 1 || strings.Contains(args[0], "/") && len(reqs[0].names) > 1
	for _, r := range reqs {
		t, err := getTable(ctx, c, r, ns, f, prefix, env.now())
		if err != nil {
			return err
		}
		if len(t.Rows) == 0 {
			continue
		}
		if printed {
			fmt.Fprintln(out)
		}
		if err := t.Write(out, f.noHeaders); err != nil {
			return err
		}
		printed = true
	}
	if !printed {
		noResources(cmd.ErrOrStderr(), reqs, ns)
	}
	return nil
}

// noResources says, on stderr as kubectl does, that nothing matched.
func noResources(w io.Writer, reqs []getRequest, ns string) {
	namespaced := false
	for _, r := range reqs {
		namespaced = namespaced || r.mapping.Scope.Name() == meta.RESTScopeNameNamespace
	}
	if namespaced && ns != "" {
		fmt.Fprintf(w, "No resources found in %s namespace.\n", ns)
		return
	}
	fmt.Fprintln(w, "No resources found")
}

// resolve is the start of get and describe: the namespace, the clients, and
// the kinds and names the arguments ask for, read from the server's discovery
// (with progress shown on a terminal while the server is waited for).
func (e *readEnv) resolve(cmd *cobra.Command, f *clusterFlags, args []string) (string, *clients, []getRequest, error) {
	ns, err := f.ns()
	if err != nil {
		return "", nil, nil, err
	}
	c, err := e.clients(f)
	if err != nil {
		return "", nil, nil, err
	}
	stop := cli.StartProgress(cmd.ErrOrStderr(), e.isTerminal(cmd.ErrOrStderr()), "waiting for the API server at "+serverName(c.config))
	reqs, err := getRequests(c, args)
	stop()
	return ns, c, reqs, err
}

// getRequests turns `KIND[,KIND] [NAME...]` or `KIND/NAME...` into requests.
func getRequests(c *clients, args []string) ([]getRequest, error) {
	if strings.Contains(args[0], "/") {
		var reqs []getRequest
		index := map[string]int{}
		for _, a := range args {
			kind, name, ok := strings.Cut(a, "/")
			if !ok || kind == "" || name == "" {
				return nil, fmt.Errorf("there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'berth get resource/<resource_name>' instead of 'berth get resource resource/<resource_name>'): %q", a)
			}
			m, err := resolveKind(c, kind)
			if err != nil {
				return nil, err
			}
			key := m.Resource.String()
			if i, ok := index[key]; ok {
				reqs[i].names = append(reqs[i].names, name)
				continue
			}
			index[key] = len(reqs)
			reqs = append(reqs, getRequest{mapping: m, names: []string{name}})
		}
		return reqs, nil
	}
	var reqs []getRequest
	for _, kind := range strings.Split(args[0], ",") {
		if kind == "" {
			continue
		}
		ms, err := resolveKinds(c, kind)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			reqs = append(reqs, getRequest{mapping: m, names: args[1:]})
		}
	}
	if len(reqs) > 1 && len(args) > 1 {
		return nil, fmt.Errorf("a name may be given for one kind only; use KIND/NAME for several")
	}
	return reqs, nil
}

// getTable reads one kind's objects as a server-rendered Table.
func getTable(ctx context.Context, c *clients, r getRequest, ns string, f *getFlags, prefix bool, now time.Time) (*cli.Table, error) {
	o := cli.ServerTableOptions{Wide: f.output == "wide", WithNamespace: ns == "" && namespaced(r.mapping)}
	if prefix {
		o.KindPrefix = kindName(r.mapping)
	}
	if r.mapping.Resource.GroupResource() == gitSourcesResource.GroupResource() {
		// The server's GitSource columns leave out branch and health.
		items, err := readObjects(ctx, c, r, ns, f)
		if err != nil {
			return nil, err
		}
		objs := make([]runtime.Object, len(items))
		for i := range items {
			objs[i] = &items[i]
		}
		return cli.GitSourceTable(objectsAs[berthv1.GitSource](objs), now, o), nil
	}
	if len(r.names) == 0 {
		st, err := fetchTable(ctx, c, r.mapping, ns, "", f)
		if err != nil {
			return nil, err
		}
		return cli.FromServerTable(st, o), nil
	}
	var all *cli.Table
	for _, name := range r.names {
		st, err := fetchTable(ctx, c, r.mapping, ns, name, f)
		if err != nil {
			return nil, err
		}
		t := cli.FromServerTable(st, o)
		if all == nil {
			all = t
		} else {
			all.Rows = append(all.Rows, t.Rows...)
		}
	}
	return all, nil
}

// listChunk is how many objects one list request asks for, as kubectl's
// --chunk-size.
const listChunk = 500

// fetchTable GETs a Table of one object (name) or of a list, page by page.
func fetchTable(ctx context.Context, c *clients, m *meta.RESTMapping, ns, name string, f *getFlags) (*metav1.Table, error) {
	var all *metav1.Table
	cont := ""
	for {
		req := c.disco.RESTClient().Get().AbsPath(resourcePath(m, ns, name)...).SetHeader("Accept", tableAccept)
		if name == "" {
			req = req.Param("limit", fmt.Sprint(listChunk))
			if cont != "" {
				req = req.Param("continue", cont)
			}
			if f.selector != "" {
				req = req.Param("labelSelector", f.selector)
			}
			if f.fieldSelector != "" {
				req = req.Param("fieldSelector", f.fieldSelector)
			}
		}
		res := req.Do(ctx)
		// Error decodes the server's Status (Raw alone would only know the code).
		if err := res.Error(); err != nil {
			return nil, err
		}
		body, err := res.Raw()
		if err != nil {
			return nil, err
		}
		var t metav1.Table
		if err := json.Unmarshal(body, &t); err != nil {
			return nil, fmt.Errorf("decode %s: %w", m.Resource.Resource, err)
		}
		if t.Kind != "Table" {
			return fallbackTable(body, name != "", c.now())
		}
		if all == nil {
			all = &t
		} else {
			all.Rows = append(all.Rows, t.Rows...)
			all.ResourceVersion = t.ResourceVersion
		}
		if cont = t.Continue; cont == "" || name != "" {
			all.Continue = ""
			return all, nil
		}
	}
}

// fallbackTable builds NAME AGE rows from a server that answered plain JSON
// (one without meta.k8s.io Tables), ages relative to now.
func fallbackTable(body []byte, single bool, now time.Time) (*metav1.Table, error) {
	var items []unstructured.Unstructured
	if single {
		var u unstructured.Unstructured
		if err := u.UnmarshalJSON(body); err != nil {
			return nil, fmt.Errorf("decode object: %w", err)
		}
		items = append(items, u)
	} else {
		var l unstructured.UnstructuredList
		if err := l.UnmarshalJSON(body); err != nil {
			return nil, fmt.Errorf("decode list: %w", err)
		}
		items = l.Items
	}
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{{Name: "Name"}, {Name: "Age"}}}
	if !single {
		var l metav1.List
		if err := json.Unmarshal(body, &l); err == nil {
			t.ResourceVersion = l.ResourceVersion
		}
	}
	for _, u := range items {
		meta := metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: u.GetName()}}
		raw, _ := json.Marshal(meta)
		t.Rows = append(t.Rows, metav1.TableRow{
			Cells:  []any{u.GetName(), cli.Age(u.GetCreationTimestamp().Time, now)},
			Object: runtime.RawExtension{Raw: raw},
		})
	}
	return t, nil
}

// resourcePath is the REST path of a resource, or of one object of it.
func resourcePath(m *meta.RESTMapping, ns, name string) []string {
	gv := m.Resource.GroupVersion()
	p := []string{"/apis", gv.Group, gv.Version}
	if gv.Group == "" {
		p = []string{"/api", gv.Version}
	}
	if ns != "" && namespaced(m) {
		p = append(p, "namespaces", ns)
	}
	p = append(p, m.Resource.Resource)
	if name != "" {
		p = append(p, name)
	}
	return p
}

// namespaced says whether a mapping's objects live in namespaces.
func namespaced(m *meta.RESTMapping) bool {
	return m.Scope.Name() == meta.RESTScopeNameNamespace
}

// kindName is how kubectl names a kind before a slash: "pod", "deployment.apps".
func kindName(m *meta.RESTMapping) string {
	k := strings.ToLower(m.GroupVersionKind.Kind)
	if g := m.GroupVersionKind.Group; g != "" {
		k += "." + g
	}
	return k
}

// getObjects prints the objects as YAML or JSON: one object alone, several as a
// v1 List, as kubectl does.
func getObjects(ctx context.Context, c *clients, reqs []getRequest, ns string, f *getFlags, out io.Writer) error {
	var items []unstructured.Unstructured
	single := len(reqs) == 1 && len(reqs[0].names) == 1
	for _, r := range reqs {
		got, err := readObjects(ctx, c, r, ns, f)
		if err != nil {
			return err
		}
		items = append(items, got...)
	}
	if single {
		return cli.WriteObject(out, items[0].Object, f.output)
	}
	list := map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}
	objs := make([]any, len(items))
	for i := range items {
		objs[i] = items[i].Object
	}
	list["items"] = objs
	return cli.WriteObject(out, list, f.output)
}

// getNames prints kind/name lines (-o name).
func getNames(ctx context.Context, c *clients, reqs []getRequest, ns string, f *getFlags, out io.Writer) error {
	for _, r := range reqs {
		got, err := readObjects(ctx, c, r, ns, f)
		if err != nil {
			return err
		}
		for _, u := range got {
			fmt.Fprintf(out, "%s/%s\n", kindName(r.mapping), u.GetName())
		}
	}
	return nil
}

// readObjects gets the named objects of a request, or lists them.
func readObjects(ctx context.Context, c *clients, r getRequest, ns string, f *getFlags) ([]unstructured.Unstructured, error) {
	res := c.dynamic.Resource(r.mapping.Resource)
	var ri interface {
		Get(context.Context, string, metav1.GetOptions, ...string) (*unstructured.Unstructured, error)
		List(context.Context, metav1.ListOptions) (*unstructured.UnstructuredList, error)
	} = res
	if namespaced(r.mapping) {
		ri = res.Namespace(ns)
	}
	if len(r.names) == 0 {
		l, err := ri.List(ctx, metav1.ListOptions{LabelSelector: f.selector, FieldSelector: f.fieldSelector})
		if err != nil {
			return nil, err
		}
		return l.Items, nil
	}
	var out []unstructured.Unstructured
	for _, n := range r.names {
		u, err := ri.Get(ctx, n, metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		out = append(out, *u)
	}
	return out, nil
}

// watchGet lists a kind as a table, then prints a row each time an object of it
// is added, changed or deleted, as kubectl get --watch, aligned with the table,
// until ctx ends. A watch the server closes is opened again where it stopped.
func watchGet(ctx context.Context, c *clients, r getRequest, ns string, f *getFlags, out io.Writer) error {
	wf := *f
	if len(r.names) == 1 {
		sel := "metadata.name=" + r.names[0]
		if wf.fieldSelector != "" {
			sel = wf.fieldSelector + "," + sel
		}
		wf.fieldSelector = sel
		r.names = nil
	}
	st, err := fetchTable(ctx, c, r.mapping, ns, "", &wf)
	if err != nil {
		return err
	}
	o := cli.ServerTableOptions{Wide: f.output == "wide", WithNamespace: ns == "" && namespaced(r.mapping)}
	t := cli.FromServerTable(st, o)
	var widths []int
	if len(t.Rows) > 0 {
		if err := t.Write(out, f.noHeaders); err != nil {
			return err
		}
		widths = t.Widths(f.noHeaders)
	}
	rv := st.ResourceVersion
	for {
		started := time.Now()
		if rv, err = watchTableOnce(ctx, c, r.mapping, ns, &wf, rv, func(rows []metav1.TableRow) error {
			t := cli.FromServerTable(&metav1.Table{ColumnDefinitions: st.ColumnDefinitions, Rows: rows}, o)
			if widths == nil {
				// The first row of an empty list comes with the headers.
				widths = t.Widths(f.noHeaders)
				return t.Write(out, f.noHeaders)
			}
			return cli.WriteRows(out, t.Rows, widths)
		}); err != nil {
			return err
		}
		if time.Since(started) < watchRetryDelay {
			// A server that ends watches at once is not asked again in a busy loop.
			select {
			case <-ctx.Done():
			case <-time.After(watchRetryDelay):
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// watchRetryDelay is the least time between two watches of `get --watch`.
const watchRetryDelay = time.Second

// watchEvent is one event of a watch stream whose objects are Tables.
type watchEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

// watchTableOnce watches from rv, handing each event's rows to print, until the
// server ends the stream; it returns the last resourceVersion seen.
func watchTableOnce(ctx context.Context, c *clients, m *meta.RESTMapping, ns string, f *getFlags, rv string, print func([]metav1.TableRow) error) (string, error) {
	req := c.disco.RESTClient().Get().AbsPath(resourcePath(m, ns, "")...).SetHeader("Accept", tableAccept).
		Param("watch", "true").Param("resourceVersion", rv)
	if f.selector != "" {
		req = req.Param("labelSelector", f.selector)
	}
	if f.fieldSelector != "" {
		req = req.Param("fieldSelector", f.fieldSelector)
	}
	stream, err := req.Stream(ctx)
	if err != nil {
		return rv, err
	}
	defer func() { _ = stream.Close() }()
	dec := json.NewDecoder(stream)
	for {
		var ev watchEvent
		if err := dec.Decode(&ev); err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return rv, nil
			}
			return rv, fmt.Errorf("watch %s: %w", m.Resource.Resource, err)
		}
		switch ev.Type {
		case "ERROR":
			var st metav1.Status
			if err := json.Unmarshal(ev.Object, &st); err != nil {
				return rv, fmt.Errorf("watch %s: undecodable error event: %w", m.Resource.Resource, err)
			}
			return rv, &apierrors.StatusError{ErrStatus: st}
		case "BOOKMARK":
			continue
		}
		var t metav1.Table
		if err := json.Unmarshal(ev.Object, &t); err != nil {
			return rv, fmt.Errorf("watch %s: decode: %w", m.Resource.Resource, err)
		}
		if t.ResourceVersion != "" {
			rv = t.ResourceVersion
		}
		if err := print(t.Rows); err != nil {
			return rv, err
		}
	}
}
