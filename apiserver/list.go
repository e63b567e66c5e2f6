package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/apiserver/storage"
)

// list serves GET of a collection.
func (s *Server) list(w http.ResponseWriter, r *http.Request, req *request) error {
	q := r.URL.Query()
	pred, err := parsePredicate(req.kind, q.Get("labelSelector"), q.Get("fieldSelector"))
	if err != nil {
		return err
	}
	o := storage.ListOptions{
		KeyPrefix: namespacePrefix(req), Predicate: pred, Continue: q.Get("continue"),
		ResourceVersion: q.Get("resourceVersion"), ResourceVersionMatch: metav1.ResourceVersionMatch(q.Get("resourceVersionMatch")),
	}
	if l := q.Get("limit"); l != "" {
		if o.Limit, err = strconv.ParseInt(l, 10, 64); err != nil || o.Limit < 0 {
			return apierrors.NewBadRequest(fmt.Sprintf("limit %q is not a non-negative integer", l))
		}
	}
	if o.Continue != "" && o.ResourceVersion != "" && o.ResourceVersion != "0" {
		return apierrors.NewBadRequest("specifying resource version is not allowed when using continue")
	}
	res, err := s.store(req.kind).List(r.Context(), o)
	if err != nil {
		return err
	}
	lm := metav1.ListMeta{ResourceVersion: strconv.FormatInt(res.RV, 10), Continue: res.Continue, RemainingItemCount: res.Remaining}
	switch negotiate(r.Header.Get("Accept")) {
	case outTable:
		t, err := newTable(req.kind, objects(res.Items), parseTableOptions(r))
		if err != nil {
			return err
		}
		t.ListMeta = lm
		writeJSON(w, r, http.StatusOK, t)
	case outMetadata:
		l := &metav1.PartialObjectMetadataList{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "PartialObjectMetadataList"}, ListMeta: lm}
		for _, e := range res.Items {
			m, _ := meta.Accessor(e.Obj)
			l.Items = append(l.Items, *partialMetadata(m))
		}
		writeJSON(w, r, http.StatusOK, l)
	case outNone:
		return notAcceptable(r)
	case outProtobuf:
		if hasProto(req.kind) {
			b, err := protoList(req.kind, lm, res.Items)
			if err != nil {
				return apierrors.NewInternalError(err)
			}
			writeProto(w, http.StatusOK, b)
			return nil
		}
		fallthrough
	default:
		writeBytes(w, r, http.StatusOK, listJSON(req.kind, lm, res.Items))
	}
	return nil
}

// listJSON writes a list from the entries' cached JSON, without encoding objects again.
func listJSON(k *registry.Kind, lm metav1.ListMeta, items []*storage.Entry) []byte {
	meta, _ := json.Marshal(lm)
	size := 128 + len(meta)
	for _, e := range items {
		size += len(e.Raw) + 1
	}
	var b bytes.Buffer
	b.Grow(size)
	fmt.Fprintf(&b, `{"kind":%q,"apiVersion":%q,"metadata":`, k.Kind+"List", k.GroupVersion.String())
	b.Write(meta)
	b.WriteString(`,"items":[`)
	for i, e := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e.Raw)
	}
	b.WriteString("]}")
	return b.Bytes()
}

func objects(items []*storage.Entry) []runtime.Object {
	out := make([]runtime.Object, len(items))
	for i, e := range items {
		out[i] = e.Obj
	}
	return out
}

// namespacePrefix is the key prefix of the request's namespace ("" for all).
func namespacePrefix(req *request) string {
	if req.kind.Namespaced && req.namespace != "" {
		return req.namespace + "/"
	}
	return ""
}

// parsePredicate parses label and field selectors; a field the kind does not index
// is a 400, as kube-apiserver says it.
func parsePredicate(k *registry.Kind, labelSel, fieldSel string) (storage.Predicate, error) {
	var p storage.Predicate
	var err error
	if p.Label, err = labels.Parse(labelSel); err != nil {
		return p, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	if p.Field, err = fields.ParseSelector(fieldSel); err != nil {
		return p, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
	}
	known := k.ObjectFields(k.New(), "", "")
	known["metadata.namespace"] = ""
	for _, req := range p.Field.Requirements() {
		if _, ok := known[req.Field]; !ok {
			return p, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	return p, nil
}
