package apiserver

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/berth-dev/berth/apiserver/auth"
	"github.com/berth-dev/berth/apiserver/registry"
)

// maxBodyBytes is the largest request body accepted (as kube-apiserver's 3 MiB).
const maxBodyBytes = 3 << 20

// Handler returns the server's HTTP handler: health, metrics, discovery and resources,
// behind bearer-token authentication and role authorization.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

// request is one authenticated resource request.
type request struct {
	requestInfo
	kind *registry.Kind
	user auth.User
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	ri := s.route(rec, r)
	s.metrics.observe(ri, rec.code, time.Since(start))
}

// route serves a request and returns what it was, for metrics.
func (s *Server) route(w http.ResponseWriter, r *http.Request) requestInfo {
	switch r.URL.Path {
	case "/healthz", "/livez":
		_, _ = w.Write([]byte("ok"))
		return requestInfo{verb: "health"}
	case "/readyz":
		s.serveReadyz(w)
		return requestInfo{verb: "health"}
	}
	for prefix, h := range s.opts.Hooks {
		if strings.HasPrefix(r.URL.Path, prefix) {
			h.ServeHTTP(w, r)
			return requestInfo{verb: "hook"}
		}
	}
	user, ok := s.tokens.AuthenticateRequest(r)
	if !ok {
		writeError(w, r, apierrors.NewUnauthorized("Unauthorized"))
		return requestInfo{verb: "unauthorized"}
	}
	ri := parseRequest(r)
	if !ri.resourceRequest {
		if !auth.AuthorizeNonResource(user, r.URL.Path) {
			writeError(w, r, apierrors.NewForbidden(schema.GroupResource{}, "", fmt.Errorf("%s", auth.ForbiddenPathMessage(user, strings.ToLower(r.Method), r.URL.Path))))
			return ri
		}
		s.serveNonResource(w, r)
		return ri
	}
	if isTokenReview(ri) {
		s.serveTokenReview(w, r, user, ri)
		return ri
	}
	k := s.lookup(ri.group, ri.version, ri.resource)
	if k == nil || ri.verb == "" {
		writeError(w, r, apierrors.NewNotFound(schema.GroupResource{Group: ri.group, Resource: ri.resource}, ""))
		return ri
	}
	if !k.Namespaced && ri.namespace != "" {
		writeError(w, r, apierrors.NewNotFound(k.GroupResource(), ri.name))
		return ri
	}
	attrs := auth.Attributes{Verb: ri.verb, Group: ri.group, Resource: ri.resource, Subresource: ri.subresource, Namespace: ri.namespace, Name: ri.name}
	if allowed, _ := auth.Authorize(user, attrs); !allowed {
		res := ri.resource
		if ri.subresource != "" {
			res += "/" + ri.subresource
		}
		writeError(w, r, apierrors.NewForbidden(schema.GroupResource{Group: ri.group, Resource: res}, ri.name,
			fmt.Errorf("%s", auth.ForbiddenMessage(user, attrs))))
		return ri
	}
	req := &request{requestInfo: ri, kind: k, user: user}
	if err := s.serveResource(w, r, req); err != nil {
		writeError(w, r, err)
	}
	return ri
}

// lookup returns the kind served at group/version/resource.
func (s *Server) lookup(group, version, resource string) *registry.Kind {
	for _, k := range s.kinds {
		if k.GroupVersion.Group == group && k.GroupVersion.Version == version && k.Resource == resource {
			return k
		}
	}
	return nil
}

// serveResource dispatches a resource request on its verb and subresource.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request, req *request) error {
	sub := req.subresource
	switch {
	case sub == "" && req.verb == "get":
		return s.get(w, r, req)
	case sub == "" && req.verb == "list":
		return s.list(w, r, req)
	case sub == "" && req.verb == "watch":
		return s.watch(w, r, req)
	case sub == "" && req.verb == "create" && req.name == "":
		return s.create(w, r, req)
	case (sub == "" || sub == "status" && req.kind.HasStatus) && req.verb == "update":
		return s.update(w, r, req)
	case (sub == "" || sub == "status" && req.kind.HasStatus) && req.verb == "patch":
		return s.patch(w, r, req)
	case sub == "status" && req.kind.HasStatus && req.verb == "get":
		return s.get(w, r, req)
	case sub == "" && req.verb == "delete":
		return s.delete(w, r, req)
	case sub == "" && req.verb == "deletecollection":
		return s.deleteCollection(w, r, req)
	case sub == "binding" && req.kind.Resource == "pods" && req.verb == "create":
		return s.bind(w, r, req)
	case sub == "scale" && hasScale(req.kind.Resource) && (req.verb == "get" || req.verb == "update" || req.verb == "patch"):
		return s.serveScale(w, r, req)
	case sub == "finalize" && req.kind.Resource == "namespaces" && req.verb == "update":
		return s.update(w, r, req)
	case sub == "log" && req.kind.Resource == "pods" && req.verb == "get":
		return s.podLog(w, r, req)
	}
	return apierrors.NewMethodNotSupported(req.kind.GroupResource(), req.verb)
}

// statusRecorder remembers the status code written, and passes Flush through for watches.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
