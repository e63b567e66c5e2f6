package storage

import (
	"strings"

	"github.com/berth-dev/berth/apiserver/registry"
)

// RootPrefix is where every berth key lives in etcd.
const RootPrefix = "/registry/"

// ResourcePrefix returns the key prefix of all objects of a kind.
func ResourcePrefix(k *registry.Kind) string {
	g := k.GroupVersion.Group
	if g == "" {
		g = "core"
	}
	return RootPrefix + g + "/" + k.Resource + "/"
}

// splitKey returns the namespace and name of a key under prefix.
func splitKey(prefix, key string) (ns, name string) {
	rest := strings.TrimPrefix(key, prefix)
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i], rest[i+1:]
	}
	return "", rest
}
