package apiserver

import (
	"fmt"
	"mime"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// protobufMediaType is the wire format client-go's generated clients send built-in
// kinds in. Responses are JSON, which those clients also accept.
const protobufMediaType = "application/vnd.kubernetes.protobuf"

// protoSerializer decodes protobuf bodies of the built-in kinds and DeleteOptions.
var protoSerializer = protobuf.NewSerializer(clientgoscheme.Scheme, clientgoscheme.Scheme)

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
