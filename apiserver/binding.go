package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/berth-dev/berth/apiserver/storage"
)

// bind serves POST pods/NAME/binding: it assigns the pod to a node once, and marks
// it PodScheduled, as the scheduler expects.
func (s *Server) bind(w http.ResponseWriter, r *http.Request, req *request) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	data, err := toJSON(r, body)
	if err != nil {
		return err
	}
	var b corev1.Binding
	if isProtobuf(r) {
		if err := decodeProtobuf(data, &b); err != nil {
			return err
		}
	} else if err := json.Unmarshal(data, &b); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("the body of the request was not a valid Binding: %v", err))
	}
	if b.Name != "" && b.Name != req.name {
		return apierrors.NewBadRequest(fmt.Sprintf("the name of the binding (%s) does not match the pod (%s)", b.Name, req.name))
	}
	if b.Target.Name == "" {
		return apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, req.name,
			field.ErrorList{field.Required(field.NewPath("target", "name"), "")})
	}
	if b.Target.Kind != "" && b.Target.Kind != "Node" {
		return apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, req.name,
			field.ErrorList{field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node"})})
	}
	_, err = s.store(req.kind).Update(r.Context(), req.namespace, req.name, func(cur runtime.Object) (storage.Outcome, error) {
		pod := cur.(*corev1.Pod)
		if b.UID != "" && b.UID != pod.UID {
			return storage.Outcome{}, apierrors.NewConflict(req.kind.GroupResource(), req.name, fmt.Errorf("binding UID %s does not match pod UID %s", b.UID, pod.UID))
		}
		if pod.DeletionTimestamp != nil {
			return storage.Outcome{}, apierrors.NewConflict(req.kind.GroupResource(), req.name, fmt.Errorf("pod %s is being deleted, cannot be assigned to a host", req.name))
		}
		if pod.Spec.NodeName != "" {
			return storage.Outcome{}, apierrors.NewConflict(req.kind.GroupResource(), req.name, fmt.Errorf("pod %s is already assigned to node %q", req.name, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = b.Target.Name
		setPodCondition(pod, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()})
		return storage.Outcome{Obj: pod}, nil
	})
	if err != nil {
		return err
	}
	writeSuccess(w, r, http.StatusCreated, nil)
	return nil
}

// setPodCondition replaces or adds a pod condition.
func setPodCondition(pod *corev1.Pod, c corev1.PodCondition) {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == c.Type {
			pod.Status.Conditions[i] = c
			return
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions, c)
}
