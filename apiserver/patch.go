package apiserver

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// patch serves PATCH of an object or its /status: JSON patch, JSON merge patch and
// strategic merge patch, applied to the stored object and then updated as a PUT would.
func (s *Server) patch(w http.ResponseWriter, r *http.Request, req *request) error {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	pt := types.PatchType(mt)
	switch pt {
	case types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType:
	case types.ApplyYAMLPatchType, types.ApplyCBORPatchType:
		return apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "patch", req.kind.GroupResource(), req.name,
			"server-side apply is not supported; use kubectl apply (client-side), a merge patch or an update", 0, false)
	default:
		return apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "patch", req.kind.GroupResource(), req.name,
			fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: %s, %s, %s",
				types.JSONPatchType, types.MergePatchType, types.StrategicMergePatchType), 0, false)
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(body) == 0 {
		return apierrors.NewBadRequest("the patch is empty")
	}
	k := req.kind
	out, err := s.updateObject(r.Context(), req, func(cur runtime.Object) (runtime.Object, error) {
		curJSON, err := json.Marshal(cur)
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		var patched []byte
		switch pt {
		case types.JSONPatchType:
			p, err := jsonpatch.DecodePatch(body)
			if err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid JSON patch: %v", err))
			}
			if patched, err = p.Apply(curJSON); err != nil {
				return nil, apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "patch", k.GroupResource(), req.name, err.Error(), 0, false)
			}
		case types.MergePatchType:
			if patched, err = jsonpatch.MergePatch(curJSON, body); err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid merge patch: %v", err))
			}
		case types.StrategicMergePatchType:
			if patched, err = strategicpatch.StrategicMergePatch(curJSON, body, k.New()); err != nil {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid strategic merge patch: %v", err))
			}
		}
		return decodeObject(w, r, k, patched)
	}, isDryRun(r))
	if err != nil {
		return err
	}
	return writeObject(w, r, k, http.StatusOK, out)
}
