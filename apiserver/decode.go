package apiserver

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/berth-dev/berth/apiserver/registry"
)

// readBody reads a request body of at most maxBodyBytes (413 past that).
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, apierrors.NewRequestEntityTooLargeError(fmt.Sprintf("limit is %d bytes", maxBodyBytes))
		}
		return nil, apierrors.NewBadRequest(fmt.Sprintf("read request body: %v", err))
	}
	return body, nil
}

// toJSON returns a JSON or YAML body as JSON, by its Content-Type.
func toJSON(r *http.Request, body []byte) ([]byte, error) {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil, apierrors.NewBadRequest("the request body is empty")
	}
	if isProtobuf(r) {
		return body, nil
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/yaml" || mt == "application/apply-patch+yaml" {
		j, err := yaml.YAMLToJSON(body)
		if err != nil {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid YAML: %v", err))
		}
		return j, nil
	}
	return body, nil
}

// fieldValidation is the request's fieldValidation directive: Strict, Warn or Ignore.
func fieldValidation(r *http.Request) string {
	switch v := r.URL.Query().Get("fieldValidation"); v {
	case "Strict", "Ignore":
		return v
	}
	return "Warn"
}

// decodeObject decodes a JSON object of kind k. Unknown and duplicate fields are a
// 400 with fieldValidation=Strict and a Warning header otherwise (unless Ignore).
func decodeObject(w http.ResponseWriter, r *http.Request, k *registry.Kind, data []byte) (runtime.Object, error) {
	obj := k.New()
	if isProtobuf(r) && r.Method != http.MethodPatch {
		if err := decodeProtobuf(data, obj); err != nil {
			return nil, err
		}
		return checkKind(k, obj)
	}
	strict, err := kjson.UnmarshalStrict(data, obj)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the body of the request was not a valid %s: %v", k.Kind, err))
	}
	if len(strict) > 0 {
		switch fieldValidation(r) {
		case "Strict":
			msgs := make([]string, len(strict))
			for i, e := range strict {
				msgs[i] = e.Error()
			}
			return nil, apierrors.NewBadRequest("strict decoding error: " + strings.Join(msgs, ", "))
		case "Warn":
			for _, e := range strict {
				w.Header().Add("Warning", fmt.Sprintf("299 - %q", e.Error()))
			}
		}
	}
	return checkKind(k, obj)
}

// checkKind checks that a decoded object is of kind k, and sets its kind if unset.
func checkKind(k *registry.Kind, obj runtime.Object) (runtime.Object, error) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	want := k.GroupVersionKind()
	if (gvk.Kind != "" && gvk.Kind != want.Kind) || (gvk.Kind != "" && gvk.GroupVersion() != want.GroupVersion()) {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) and kind (%s) do not match the endpoint (%s, %s)",
			gvk.GroupVersion(), gvk.Kind, want.GroupVersion(), want.Kind))
	}
	obj.GetObjectKind().SetGroupVersionKind(want)
	return obj, nil
}
