package apiserver

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/apiserver/storage"
)

// initialEventsEndAnnotation marks the bookmark after the initial events of a watch-list.
const initialEventsEndAnnotation = "k8s.io/initial-events-end"

// watch serves a watch: a chunked stream of JSON watch events, one per line.
func (s *Server) watch(w http.ResponseWriter, r *http.Request, req *request) error {
	q := r.URL.Query()
	fieldSel := q.Get("fieldSelector")
	if req.name != "" { // GET .../pods/NAME?watch=true
		sel := fields.OneTermEqualSelector("metadata.name", req.name).String()
		if fieldSel != "" {
			sel += "," + fieldSel
		}
		fieldSel = sel
	}
	pred, err := parsePredicate(req.kind, q.Get("labelSelector"), fieldSel)
	if err != nil {
		return err
	}
	rv, err := storage.ParseResourceVersion(q.Get("resourceVersion"))
	if err != nil {
		return apierrors.NewBadRequest(err.Error())
	}
	opts := storage.WatchOptions{
		KeyPrefix: namespacePrefix(req), Predicate: pred, ResourceVersion: rv,
		Bookmarks: q.Get("allowWatchBookmarks") == "true",
	}
	if v, err := strconv.ParseBool(q.Get("sendInitialEvents")); err == nil && v {
		opts.SendInitialEvents = true
	}
	out := negotiate(r.Header.Get("Accept"))
	if out == outNone || out == outYAML {
		return notAcceptable(r)
	}
	if out == outProtobuf && !hasProto(req.kind) {
		out = outJSON
	}
	timeout := time.Duration(1800+rand.IntN(1800)) * time.Second
	if t := q.Get("timeoutSeconds"); t != "" {
		secs, err := strconv.ParseInt(t, 10, 64)
		if err != nil || secs < 0 {
			return apierrors.NewBadRequest(fmt.Sprintf("timeoutSeconds %q is not a non-negative integer", t))
		}
		if secs > 0 {
			timeout = time.Duration(secs) * time.Second
		}
	}

	ctx := r.Context()
	st := s.store(req.kind)
	wt, err := st.Cacher().Watch(ctx, opts)
	if err != nil && !apierrors.IsResourceExpired(err) {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	if out == outProtobuf {
		w.Header().Set("Content-Type", protobufMediaType+";stream=watch")
	}
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	bw := bufio.NewWriterSize(w, 32<<10)
	flush := func() {
		_ = bw.Flush()
		if flusher != nil {
			flusher.Flush()
		}
	}
	if err != nil {
		// As kube-apiserver's watch cache: a 200 stream with one ERROR event (410 Expired).
		writeErrorEvent(bw, err, out == outProtobuf)
		flush()
		return nil
	}
	defer wt.Stop()
	gauge := s.metrics.watchers.WithLabelValues(req.kind.Resource)
	gauge.Inc()
	defer gauge.Dec()
	flush()
	enc := eventEncoder{kind: req.kind, out: out, table: parseTableOptions(r)}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	events := wt.Events()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			flush()
			return nil
		case ev, ok := <-events:
			if !ok {
				flush()
				return nil
			}
			if err := enc.write(bw, ev); err != nil {
				s.log.Warn("watch: encode event", "resource", req.kind.Resource, "err", err)
				return nil
			}
			// Flush when no further event is waiting, so bursts go out in few writes.
			if len(events) == 0 {
				flush()
			}
		}
	}
}

// eventEncoder writes watch events in the representation the client asked for.
type eventEncoder struct {
	kind  *registry.Kind
	out   output
	table tableOptions
	sent  bool // a Table event with headers was sent
}

func (e *eventEncoder) write(bw *bufio.Writer, ev storage.Event) error {
	if ev.Type == watch.Bookmark {
		return e.bookmark(bw, ev)
	}
	var obj []byte
	switch e.out {
	case outProtobuf:
		msg, _, err := ev.Entry.Proto()
		if err != nil {
			return err
		}
		if obj, err = envelope(e.kind.GroupVersionKind(), msg); err != nil {
			return err
		}
		frame, err := protoWatchFrame(string(ev.Type), obj)
		if err != nil {
			return err
		}
		_, err = bw.Write(frame)
		return err
	case outTable:
		opts := e.table
		opts.noHeaders = opts.noHeaders || e.sent
		t, err := newTable(e.kind, []runtime.Object{ev.Entry.Obj}, opts)
		if err != nil {
			return err
		}
		t.ResourceVersion = strconv.FormatInt(ev.RV, 10)
		if obj, err = json.Marshal(t); err != nil {
			return err
		}
		e.sent = true
	case outMetadata:
		m, err := meta.Accessor(ev.Entry.Obj)
		if err != nil {
			return err
		}
		if obj, err = json.Marshal(partialMetadata(m)); err != nil {
			return err
		}
	default:
		obj = ev.Entry.Raw
	}
	bw.WriteString(`{"type":"`)
	bw.WriteString(string(ev.Type))
	bw.WriteString(`","object":`)
	bw.Write(obj)
	_, err := bw.WriteString("}\n")
	return err
}

// bookmark writes a BOOKMARK event: an object of the kind with only its resourceVersion.
func (e *eventEncoder) bookmark(bw *bufio.Writer, ev storage.Event) error {
	m := metav1.ObjectMeta{ResourceVersion: strconv.FormatInt(ev.RV, 10)}
	if ev.InitialEventsEnd {
		m.Annotations = map[string]string{initialEventsEndAnnotation: "true"}
	}
	if e.out == outProtobuf {
		obj := e.kind.New()
		om, err := meta.Accessor(obj)
		if err != nil {
			return err
		}
		om.SetResourceVersion(m.ResourceVersion)
		om.SetAnnotations(m.Annotations)
		b, err := protoObject(e.kind.GroupVersionKind(), obj)
		if err != nil {
			return err
		}
		frame, err := protoWatchFrame(string(watch.Bookmark), b)
		if err != nil {
			return err
		}
		_, err = bw.Write(frame)
		return err
	}
	gv := e.kind.GroupVersion
	kind := e.kind.Kind
	if e.out == outMetadata {
		gv, kind = metav1.SchemeGroupVersion, "PartialObjectMetadata"
	}
	obj, err := json.Marshal(struct {
		metav1.TypeMeta   `json:",inline"`
		metav1.ObjectMeta `json:"metadata"`
	}{metav1.TypeMeta{APIVersion: gv.String(), Kind: kind}, m})
	if err != nil {
		return err
	}
	fmt.Fprintf(bw, `{"type":"BOOKMARK","object":%s}`+"\n", obj)
	return nil
}

// writeErrorEvent writes an ERROR watch event holding err's Status.
func writeErrorEvent(bw *bufio.Writer, err error, proto bool) {
	st := err.(apierrors.APIStatus).Status()
	st.Kind, st.APIVersion = "Status", "v1"
	if proto {
		b, err := protoObject(schema.GroupVersion{Version: "v1"}.WithKind("Status"), &st)
		if err == nil {
			if frame, err := protoWatchFrame(string(watch.Error), b); err == nil {
				_, _ = bw.Write(frame)
			}
		}
		return
	}
	b, _ := json.Marshal(st)
	fmt.Fprintf(bw, `{"type":"ERROR","object":%s}`+"\n", b)
}
