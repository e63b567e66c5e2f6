package apiserver

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// hasScale says whether a resource has a /scale subresource.
func hasScale(resource string) bool { return resource == "deployments" || resource == "replicasets" }

// scaleOf returns the autoscaling/v1 Scale of a Deployment or ReplicaSet.
func scaleOf(obj runtime.Object) (*autoscalingv1.Scale, error) {
	var (
		meta     metav1.ObjectMeta
		replicas *int32
		current  int32
		selector *metav1.LabelSelector
	)
	switch o := obj.(type) {
	case *appsv1.Deployment:
		meta, replicas, current, selector = o.ObjectMeta, o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector
	case *appsv1.ReplicaSet:
		meta, replicas, current, selector = o.ObjectMeta, o.Spec.Replicas, o.Status.Replicas, o.Spec.Selector
	default:
		return nil, fmt.Errorf("%T has no scale", obj)
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return nil, err
	}
	s := &autoscalingv1.Scale{
		TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v1", Kind: "Scale"},
		ObjectMeta: metav1.ObjectMeta{Name: meta.Name, Namespace: meta.Namespace, UID: meta.UID,
			ResourceVersion: meta.ResourceVersion, CreationTimestamp: meta.CreationTimestamp},
		Status: autoscalingv1.ScaleStatus{Replicas: current, Selector: sel.String()},
	}
	if replicas != nil {
		s.Spec.Replicas = *replicas
	}
	return s, nil
}

// setReplicas sets spec.replicas of a Deployment or ReplicaSet.
func setReplicas(obj runtime.Object, n int32) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Spec.Replicas = &n
	case *appsv1.ReplicaSet:
		o.Spec.Replicas = &n
	}
}

// serveScale serves get, update and patch of DEPLOYMENT/scale and REPLICASET/scale,
// which `kubectl scale` uses: only spec.replicas changes through it.
func (s *Server) serveScale(w http.ResponseWriter, r *http.Request, req *request) error {
	ctx := r.Context()
	if req.verb == "get" {
		obj, err := s.store(req.kind).Get(ctx, req.namespace, req.name)
		if err != nil {
			return err
		}
		sc, err := scaleOf(obj)
		if err != nil {
			return apierrors.NewInternalError(err)
		}
		writeJSON(w, r, http.StatusOK, sc)
		return nil
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	mainReq := *req
	mainReq.subresource = ""
	out, err := s.updateObject(ctx, &mainReq, func(cur runtime.Object) (runtime.Object, error) {
		sc, err := scaleOf(cur)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		want, err := s.desiredScale(r, req, sc, body)
		if err != nil {
			return nil, err
		}
		if want.ResourceVersion != "" && want.ResourceVersion != sc.ResourceVersion {
			return nil, apierrors.NewConflict(req.kind.GroupResource(), req.name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
		}
		if want.Spec.Replicas < 0 {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.replicas: Invalid value: %d: must be greater than or equal to 0", want.Spec.Replicas))
		}
		setReplicas(cur, want.Spec.Replicas)
		return cur, nil
	}, isDryRun(r))
	if err != nil {
		return err
	}
	sc, err := scaleOf(out)
	if err != nil {
		return apierrors.NewInternalError(err)
	}
	writeJSON(w, r, http.StatusOK, sc)
	return nil
}

// desiredScale is the Scale a PUT body or a PATCH applied to the current Scale asks for.
func (s *Server) desiredScale(r *http.Request, req *request, cur *autoscalingv1.Scale, body []byte) (*autoscalingv1.Scale, error) {
	want := &autoscalingv1.Scale{}
	if req.verb == "update" {
		data, err := toJSON(r, body)
		if err != nil {
			return nil, err
		}
		if isProtobuf(r) {
			return want, decodeProtobuf(data, want)
		}
		if err := json.Unmarshal(data, want); err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("the body of the request was not a valid Scale: %v", err))
		}
		return want, nil
	}
	curJSON, _ := json.Marshal(cur)
	var patched []byte
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch types.PatchType(mt) {
	case types.JSONPatchType:
		var p jsonpatch.Patch
		if p, err = jsonpatch.DecodePatch(body); err == nil {
			patched, err = p.Apply(curJSON)
		}
	case types.MergePatchType, types.StrategicMergePatchType: // Scale has no patch strategies
		patched, err = jsonpatch.MergePatch(curJSON, body)
	default:
		return nil, apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "patch", req.kind.GroupResource(), req.name, "unsupported patch type "+mt, 0, false)
	}
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid patch: %v", err))
	}
	if err := json.Unmarshal(patched, want); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the patched Scale is not valid: %v", err))
	}
	return want, nil
}
