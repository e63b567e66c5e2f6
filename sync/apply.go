package sync

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// Result is what applying one action did.
type Result struct {
	Action Action
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
	var errs []error
	for _, a := range actions {
		if a.Type != Create && a.Type != Update || newNamespaces[a.ID.Namespace] {
			continue
		}
		if err := send(ctx, dyn, a, true); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %s: %s", a.File, a.Line, a.ID, apiMessage(err)))
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
	for _, a := range actions {
		if a.Type == Create || a.Type == Update || a.Type == Unchanged {
			results = append(results, Result{Action: a, Err: send(ctx, dyn, a, false)})
		}
	}
	for i := len(actions) - 1; i >= 0; i-- {
		if a := actions[i]; a.Type == Delete {
			results = append(results, Result{Action: a, Err: send(ctx, dyn, a, false)})
		}
	}
	return results
}

// send performs one action.
func send(ctx context.Context, dyn dynamic.Interface, a Action, dryRun bool) error {
	var dry []string
	if dryRun {
		dry = []string{metav1.DryRunAll}
	}
	switch a.Type {
	case Create:
		_, err := resource(dyn, a.Kind, a.ID.Namespace).Create(ctx, a.Desired, metav1.CreateOptions{DryRun: dry, FieldValidation: "Strict"})
		return err
	case Update:
		_, err := resource(dyn, a.Kind, a.ID.Namespace).Patch(ctx, a.ID.Name, types.StrategicMergePatchType, a.Patch,
			metav1.PatchOptions{DryRun: dry, FieldValidation: "Strict"})
		return err
	case Delete:
		uid := a.Live.GetUID()
		bg := metav1.DeletePropagationBackground
		err := resource(dyn, kindOf(a), a.ID.Namespace).Delete(ctx, a.ID.Name, metav1.DeleteOptions{
			DryRun: dry, PropagationPolicy: &bg, Preconditions: &metav1.Preconditions{UID: &uid},
		})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	return nil
}

// apiMessage is the API server's message for an error, without client-go's wrapping.
func apiMessage(err error) string {
	if st, ok := err.(apierrors.APIStatus); ok {
		return st.Status().Message
	}
	return err.Error()
}
