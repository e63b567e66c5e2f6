package manifests

import (
	"crypto/sha256"
	gosync "sync"
)

// Cache remembers what each file decoded to, by path and content, so that loading
// the next revision decodes only the files that changed. Give one Cache to the
// Loads of one repository (Options.Cache); it keeps the files of the last Load.
// Objects from a Load with a Cache are shared with later Loads: do not modify them.
type Cache struct {
	mu    gosync.Mutex // guards the fields below
	files map[cacheKey]cachedFile
	used  map[cacheKey]bool // files the current Load asked for
}

type cacheKey struct {
	path      string
	sum       [sha256.Size]byte
	namespace string // the default namespace the objects were given
}

type cachedFile struct {
	objs []*loaded
	errs Errors
}

// NewCache returns an empty cache.
func NewCache() *Cache {
	return &Cache{files: map[cacheKey]cachedFile{}, used: map[cacheKey]bool{}}
}

func (c *Cache) get(k cacheKey) (cachedFile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.used[k] = true
	f, ok := c.files[k]
	return f, ok
}

func (c *Cache) put(k cacheKey, f cachedFile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.files[k] = f
}

// sweep drops the files the last Load did not ask for.
func (c *Cache) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.files {
		if !c.used[k] {
			delete(c.files, k)
		}
	}
	c.used = map[cacheKey]bool{}
}
