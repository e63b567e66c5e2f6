package apiserver

import (
	"encoding/binary"
	"fmt"
	"mime"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/berth-dev/berth/apiserver/registry"
	"github.com/berth-dev/berth/apiserver/storage"
)

// protobufMediaType is the wire format client-go's generated clients prefer for the
// built-in kinds. berth reads it in request bodies and writes it in responses of kinds
// that have it (all but GitSource, which is JSON as CRDs are).
const protobufMediaType = "application/vnd.kubernetes.protobuf"

// protoSerializer decodes protobuf bodies of the built-in kinds and DeleteOptions.
var protoSerializer = protobuf.NewSerializer(clientgoscheme.Scheme, clientgoscheme.Scheme)

// protoMagic starts every enveloped protobuf object ("k8s\x00").
var protoMagic = []byte{0x6b, 0x38, 0x73, 0x00}

// protoMarshaler is implemented by the generated k8s.io/api types.
type protoMarshaler interface {
	Marshal() ([]byte, error)
}

// hasProto says whether kind k has a protobuf encoding.
func hasProto(k *registry.Kind) bool {
	_, ok := k.New().(protoMarshaler)
	return ok
}

// isProtobuf says whether the request body is protobuf.
func isProtobuf(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == protobufMediaType
}

// decodeProtobuf decodes a protobuf body into into.
func decodeProtobuf(body []byte, into runtime.Object) error {
	if _, _, err := protoSerializer.Decode(body, nil, into); err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("the body of the request was not valid protobuf: %v", err))
	}
	return nil
}

// envelope wraps a protobuf message as Kubernetes sends objects: the magic prefix and a
// runtime.Unknown naming the message's apiVersion and kind.
func envelope(gvk schema.GroupVersionKind, msg []byte) ([]byte, error) {
	u := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind}, Raw: msg}
	b := make([]byte, len(protoMagic)+u.Size())
	copy(b, protoMagic)
	if _, err := u.MarshalToSizedBuffer(b[len(protoMagic):]); err != nil {
		return nil, err
	}
	return b, nil
}

// protoObject encodes one object, enveloped.
func protoObject(gvk schema.GroupVersionKind, obj runtime.Object) ([]byte, error) {
	m, ok := obj.(protoMarshaler)
	if !ok {
		return nil, fmt.Errorf("%s has no protobuf encoding", gvk.Kind)
	}
	msg, err := m.Marshal()
	if err != nil {
		return nil, err
	}
	return envelope(gvk, msg)
}

// protoList assembles a list (field 1: ListMeta, field 2: each item) from the entries'
// cached protobuf, as listJSON does from their JSON, and envelopes it.
func protoList(k *registry.Kind, lm metav1.ListMeta, items []*storage.Entry) ([]byte, error) {
	lmb, err := lm.Marshal()
	if err != nil {
		return nil, err
	}
	msgs := make([][]byte, len(items))
	size := 1 + varintLen(len(lmb)) + len(lmb)
	for i, e := range items {
		b, _, err := e.Proto()
		if err != nil {
			return nil, err
		}
		msgs[i] = b
		size += 1 + varintLen(len(b)) + len(b)
	}
	list := make([]byte, 0, size)
	list = appendField(list, 1, lmb)
	for _, b := range msgs {
		list = appendField(list, 2, b)
	}
	return envelope(k.GroupVersion.WithKind(k.Kind+"List"), list)
}

// appendField appends a length-delimited protobuf field.
func appendField(b []byte, field int, msg []byte) []byte {
	b = binary.AppendUvarint(b, uint64(field<<3|2))
	b = binary.AppendUvarint(b, uint64(len(msg)))
	return append(b, msg...)
}

func varintLen(n int) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutUvarint(buf[:], uint64(n))
}

// writeProto writes an enveloped protobuf body.
func writeProto(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Type", protobufMediaType)
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// protoWatchFrame encodes one watch event as client-go reads a protobuf watch stream:
// a 4-byte big-endian length, then a metav1.WatchEvent holding the enveloped object.
func protoWatchFrame(typ string, object []byte) ([]byte, error) {
	ev := metav1.WatchEvent{Type: typ, Object: runtime.RawExtension{Raw: object}}
	b := make([]byte, 4+ev.Size())
	binary.BigEndian.PutUint32(b, uint32(ev.Size()))
	if _, err := ev.MarshalToSizedBuffer(b[4:]); err != nil {
		return nil, err
	}
	return b, nil
}
