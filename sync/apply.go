package sync

import (
	"context"
	"fmt"
	gosync "sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Result is what applying one action did.
type Result struct {
	Action Action
	// Obj is the object as the API server stored it (creates and updates).
	Obj *unstructured.Unstructured
	// Err is the API server's answer when the action failed.
	Err error
}

// DryRun sends every create and update of a plan to the API server with dryRun=All,
// so that the server's defaults, validation and admission judge the whole revision
// before anything is written. Objects in a namespace the plan itself creates cannot
// be judged this way (the namespace does not exist yet) and were validated when
// loaded. It returns one error per refused object, naming file:line and object.
func DryRun(ctx context.Context, dyn dynamic.Interface, actions []Action) error {
	newNamespaces := map[string]bool{}
	for _, a := range actions {
		if a.Type == Create && a.ID.Group == "" && a.ID.Kind == "Namespace" {
			newNamespaces[a.ID.Name] = true
		}
	}
	var todo []Action
	for _, a := range actions {
		if (a.Type == Create || a.Type == Update) && !newNamespaces[a.ID.Namespace] {
			todo = append(todo, a)
		}
	}
	var errs []error
	for _, r := range parallel(ctx, dyn, todo, true) {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %s: %s", r.Action.File, r.Action.Line, r.Action.ID, apiMessage(r.Err)))
		}
	}
	if len(errs) > 0 {
		return joinErrors(errs)
	}
	return nil
}

// Apply carries out a plan: creates and updates in plan order, then deletes in the
// reverse order. It goes on past a failed action, so that one object the server
// refuses at the last moment does not hold back the others, and reports each.
func Apply(ctx context.Context, dyn dynamic.Interface, actions []Action) []Result {
	results := make([]Result, 0, len(actions))
	var writes, deletes []Action
	for _, a := range actions {
		switch a.Type {
		case Create, Update:
			writes = append(writes, a)
		case Unchanged:
			results = append(results, Result{Action: a})
		case Delete:
			deletes = append(deletes, a)
		}
	}
	// Each dependency class (namespaces, then service accounts, ...) completes before
	// the next starts; the objects of one class go in parallel.
	for _, class := range classes(writes) {
		results = append(results, parallel(ctx, dyn, class, false)...)
	}
	reversed := classes(deletes)
	for i := len(reversed) - 1; i >= 0; i-- {
		results = append(results, parallel(ctx, dyn, reversed[i], false)...)
	}
	return results
}

// applyWorkers is how many requests of one dependency class are in flight at once.
const applyWorkers = 16

// classes splits actions into runs of one dependency class, keeping their order.
func classes(actions []Action) [][]Action {
	var out [][]Action
	for i, a := range actions {
		if i == 0 || rank(a) != rank(actions[i-1]) {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], a)
	}
	return out
}

// rank is an action's dependency class: namespaces first, then what pods use.
func rank(a Action) int {
	switch a.ID.Kind {
	case "Namespace":
		return 0
	case "ServiceAccount":
		return 1
	case "ConfigMap", "Secret":
		return 2
	case "Service":
		return 3
	case "Deployment", "ReplicaSet", "DaemonSet", "Job", "Pod":
		return 4
	}
	return 5
}

// parallel sends actions with a bounded number of workers, results in input order.
func parallel(ctx context.Context, dyn dynamic.Interface, actions []Action, dryRun bool) []Result {
	results := make([]Result, len(actions))
	next := make(chan int)
	var wg gosync.WaitGroup
	for w := 0; w < min(applyWorkers, len(actions)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				obj, err := send(ctx, dyn, actions[i], dryRun)
				results[i] = Result{Action: actions[i], Obj: obj, Err: err}
			}
		}()
	}
	for i := range actions {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// send performs one action and returns the object as stored (creates and updates).
func send(ctx context.Context, dyn dynamic.Interface, a Action, dryRun bool) (*unstructured.Unstructured, error) {
	var dry []string
	if dryRun {
		dry = []string{metav1.DryRunAll}
	}
	switch a.Type {
	case Create:
		return resource(dyn, a.Kind, a.ID.Namespace).Create(ctx, a.Desired, metav1.CreateOptions{DryRun: dry, FieldValidation: "Strict"})
	case Update:
		return resource(dyn, a.Kind, a.ID.Namespace).Patch(ctx, a.ID.Name, types.StrategicMergePatchType, a.Patch,
			metav1.PatchOptions{DryRun: dry, FieldValidation: "Strict"})
	case Delete:
		uid := a.Live.GetUID()
		bg := metav1.DeletePropagationBackground
		err := resource(dyn, kindOf(a), a.ID.Namespace).Delete(ctx, a.ID.Name, metav1.DeleteOptions{
			DryRun: dry, PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &uid},
		})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return nil, nil
}

// apiMessage is the API server's message for an error, without client-go's wrapping.
func apiMessage(err error) string {
	if st, ok := err.(apierrors.APIStatus); ok {
		return st.Status().Message
	}
	return err.Error()
}
