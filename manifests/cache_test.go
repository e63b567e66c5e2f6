package manifests

import (
	"testing"
	"testing/fstest"
)

// TestCache: loads with a cache give what loads without one give; a changed file is
// decoded again; errors are remembered like objects; files that left are forgotten.
func TestCache(t *testing.T) {
	cm := func(name, v string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: default}\ndata: {v: \"" + v + "\"}\n"
	}
	fsys := fstest.MapFS{
		"a.yaml": {Data: []byte(cm("a", "1"))},
		"b.yaml": {Data: []byte(cm("b", "1"))},
	}
	known := func(string) bool { return true }
	c := NewCache()
	first, err := LoadFS(fsys, Options{Cache: c, KnownNamespaces: known})
	if err != nil || len(first) != 2 {
		t.Fatalf("first load: %v %d", err, len(first))
	}
	again, _ := LoadFS(fsys, Options{Cache: c, KnownNamespaces: known})
	if again[0] != first[0] || again[1] != first[1] {
		t.Errorf("an unchanged file was decoded again")
	}
	fsys["b.yaml"] = &fstest.MapFile{Data: []byte(cm("b", "2"))}
	changed, _ := LoadFS(fsys, Options{Cache: c, KnownNamespaces: known})
	if changed[0] != first[0] || changed[1] == first[1] || string(changed[1].Raw) == string(first[1].Raw) {
		t.Errorf("a changed file was not decoded again")
	}
	fsys["bad.yaml"] = &fstest.MapFile{Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad, namespace: default}\ndata: {v: 1}\n")}
	for i := 0; i < 2; i++ {
		if _, err := LoadFS(fsys, Options{Cache: c, KnownNamespaces: known}); err == nil {
			t.Fatalf("load %d of a bad file succeeded", i)
		}
	}
	delete(fsys, "bad.yaml")
	delete(fsys, "a.yaml")
	objs, err := LoadFS(fsys, Options{Cache: c, KnownNamespaces: known})
	if err != nil || len(objs) != 1 || len(c.files) != 1 {
		t.Errorf("after removing files: %v, %d objects, %d cached files", err, len(objs), len(c.files))
	}
}
