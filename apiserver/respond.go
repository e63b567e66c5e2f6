package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// writeJSON writes v as JSON (or YAML when asked) with the given status code.
func writeJSON(w http.ResponseWriter, r *http.Request, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, r, apierrors.NewInternalError(fmt.Errorf("encode response: %w", err)))
		return
	}
	writeBytes(w, r, code, b)
}

// writeBytes writes an already encoded JSON body, converting it to YAML when asked.
func writeBytes(w http.ResponseWriter, r *http.Request, code int, b []byte) {
	ct := "application/json"
	if r != nil && negotiate(r.Header.Get("Accept")) == outYAML {
		if y, err := yaml.JSONToYAML(b); err == nil {
			b, ct = y, "application/yaml"
		}
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// writeError writes err as a metav1.Status with its code; errors that are not API
// errors are internal errors.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		status = apierrors.NewInternalError(err)
	}
	st := status.Status()
	st.Kind, st.APIVersion = "Status", "v1"
	if st.Status == "" {
		st.Status = metav1.StatusFailure
	}
	if st.Code == 0 {
		st.Code = http.StatusInternalServerError
	}
	b, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	_, _ = w.Write(b)
}

// writeSuccess writes a Status of success, as returned by binding and some deletes.
func writeSuccess(w http.ResponseWriter, r *http.Request, code int, details *metav1.StatusDetails) {
	writeJSON(w, r, code, &metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusSuccess, Code: int32(code), Details: details,
	})
}

// objectJSON encodes an object for a response.
func objectJSON(obj runtime.Object) ([]byte, error) {
	return json.Marshal(obj)
}
