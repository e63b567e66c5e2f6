package apiserver

import (
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berth-dev/berth/apiserver/registry"
)

// get serves GET of one object (and of its /status).
func (s *Server) get(w http.ResponseWriter, r *http.Request, req *request) error {
	obj, err := s.store(req.kind).Get(r.Context(), req.namespace, req.name)
	if err != nil {
		return err
	}
	return writeObject(w, r, req.kind, http.StatusOK, obj)
}

// writeObject writes one object in the representation the client asked for.
func writeObject(w http.ResponseWriter, r *http.Request, k *registry.Kind, code int, obj runtime.Object) error {
	switch negotiate(r.Header.Get("Accept")) {
	case outTable:
		t, err := newTable(k, []runtime.Object{obj}, parseTableOptions(r))
		if err != nil {
			return err
		}
		writeJSON(w, r, code, t)
	case outMetadata:
		m, err := meta.Accessor(obj)
		if err != nil {
			return err
		}
		writeJSON(w, r, code, partialMetadata(m))
	case outNone:
		return notAcceptable(r)
	case outProtobuf:
		if hasProto(k) {
			b, err := protoObject(k.GroupVersionKind(), obj)
			if err != nil {
				return apierrors.NewInternalError(err)
			}
			writeProto(w, code, b)
			return nil
		}
		fallthrough
	default:
		b, err := objectJSON(obj)
		if err != nil {
			return err
		}
		writeBytes(w, r, code, b)
	}
	return nil
}

func notAcceptable(r *http.Request) error {
	return apierrors.NewGenericServerResponse(http.StatusNotAcceptable, r.Method, metav1.SchemeGroupVersion.WithResource("").GroupResource(), "", "only application/json and application/yaml are served; accept: "+r.Header.Get("Accept"), 0, false)
}

// parseTableOptions reads includeObject and the no-headers hint of a Table request.
func parseTableOptions(r *http.Request) tableOptions {
	q := r.URL.Query()
	o := tableOptions{includeObject: metav1.IncludeObjectPolicy(q.Get("includeObject"))}
	o.noHeaders, _ = strconv.ParseBool(q.Get("noHeaders"))
	return o
}
