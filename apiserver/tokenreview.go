package apiserver

import (
	"encoding/json"
	"fmt"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/berth-dev/berth/apiserver/auth"
)

// authenticationV1 is the group version of TokenReview.
var authenticationV1 = authenticationv1.SchemeGroupVersion

// tokenReviewResource is TokenReview's discovery entry. TokenReview is not stored: it
// is only created, and answered at once.
var tokenReviewResource = metav1.APIResource{
	Name: "tokenreviews", SingularName: "tokenreview", Kind: "TokenReview", Verbs: metav1.Verbs{"create"},
}

// isTokenReview reports whether ri addresses tokenreviews.
func isTokenReview(ri requestInfo) bool {
	return ri.group == authenticationV1.Group && ri.version == authenticationV1.Version && ri.resource == "tokenreviews"
}

// serveTokenReview serves POST /apis/authentication.k8s.io/v1/tokenreviews: it says
// whether the token in the review's spec is one of the token file's, and whose. The
// kubelet asks it to authenticate the callers of its own endpoint.
func (s *Server) serveTokenReview(w http.ResponseWriter, r *http.Request, user auth.User, ri requestInfo) {
	gr := schema.GroupResource{Group: authenticationV1.Group, Resource: "tokenreviews"}
	if ri.name != "" || ri.namespace != "" || ri.subresource != "" {
		writeError(w, r, apierrors.NewNotFound(gr, ri.name))
		return
	}
	if ri.verb != "create" {
		writeError(w, r, apierrors.NewMethodNotSupported(gr, ri.verb))
		return
	}
	attrs := auth.Attributes{Verb: ri.verb, Group: ri.group, Resource: ri.resource}
	if allowed, msg := auth.Authorize(user, attrs); !allowed {
		writeError(w, r, apierrors.NewForbidden(gr, "", fmt.Errorf("%s", msg)))
		return
	}
	tr, err := decodeTokenReview(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	tr.TypeMeta = metav1.TypeMeta{Kind: "TokenReview", APIVersion: authenticationV1.String()}
	tr.Status = authenticationv1.TokenReviewStatus{}
	if u, ok := s.tokens.Authenticate(tr.Spec.Token); ok {
		tr.Status.Authenticated = true
		tr.Status.User = authenticationv1.UserInfo{Username: u.Name, UID: u.Name, Groups: auth.Groups(u)}
		tr.Status.Audiences = tr.Spec.Audiences
	}
	writeJSON(w, r, http.StatusCreated, tr)
}

// decodeTokenReview reads the request's TokenReview, JSON, YAML or protobuf.
func decodeTokenReview(r *http.Request) (*authenticationv1.TokenReview, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	data, err := toJSON(r, body)
	if err != nil {
		return nil, err
	}
	var tr authenticationv1.TokenReview
	if isProtobuf(r) {
		if err := decodeProtobuf(data, &tr); err != nil {
			return nil, err
		}
	} else if err := json.Unmarshal(data, &tr); err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the body of the request was not a valid TokenReview: %v", err))
	}
	if tr.Spec.Token == "" {
		return nil, apierrors.NewBadRequest("token is required for TokenReview in authentication")
	}
	return &tr, nil
}
