package apiserver

import (
	"mime"
	"strings"
)

// output is the representation a client asked for in its Accept header.
type output int

const (
	outJSON output = iota
	outYAML
	outTable
	outMetadata // PartialObjectMetadata(List)
	outProtobuf // application/vnd.kubernetes.protobuf, for kinds that have it
	outNone     // nothing acceptable
)

// negotiate picks the first representation of the Accept header that berth serves:
// JSON, YAML, protobuf, meta.k8s.io Tables and PartialObjectMetadata.
func negotiate(accept string) output {
	if strings.TrimSpace(accept) == "" {
		return outJSON
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case protobufMediaType:
			if params["as"] == "" {
				return outProtobuf
			}
			continue
		case "application/json", "application/*", "*/*":
		case "application/yaml":
			if params["as"] == "" {
				return outYAML
			}
			continue
		default:
			continue
		}
		switch params["as"] {
		case "":
			return outJSON
		case "Table":
			if params["g"] == "meta.k8s.io" && (params["v"] == "v1" || params["v"] == "v1beta1") {
				return outTable
			}
		case "PartialObjectMetadata", "PartialObjectMetadataList":
			if params["g"] == "meta.k8s.io" && (params["v"] == "v1" || params["v"] == "v1beta1") {
				return outMetadata
			}
		}
	}
	return outNone
}
