package kubelet

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/berth-dev/berth/kubelet/runtime"
)

// importTimeout bounds the import of one tarball.
const importTimeout = 5 * time.Minute

// imageImporter imports the image tarballs dropped into a directory, each
// once (by name, size and modification time), so that air-gapped nodes get
// their images.
type imageImporter struct {
	dir string
	rt  runtime.Runtime
	log *slog.Logger

	mu   sync.Mutex // guards done
	done map[string]bool
}

func newImageImporter(dir string, rt runtime.Runtime, log *slog.Logger) *imageImporter {
	return &imageImporter{dir: dir, rt: rt, log: log, done: map[string]bool{}}
}

// run scans the directory every interval until ctx ends.
func (im *imageImporter) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			im.scan(ctx)
		}
	}
}

// scan imports every *.tar in the directory not imported yet. A failed
// import is logged and tried again at the next scan.
func (im *imageImporter) scan(ctx context.Context) {
	entries, err := os.ReadDir(im.dir)
	if err != nil {
		if !os.IsNotExist(err) {
			im.log.Warn("scan image directory", "dir", im.dir, "err", err)
		}
		return
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tar") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		key := e.Name() + "\x00" + info.ModTime().String() + "\x00" + itoa64(info.Size())
		im.mu.Lock()
		seen := im.done[key]
		im.mu.Unlock()
		if seen {
			continue
		}
		path := filepath.Join(im.dir, e.Name())
		ictx, cancel := context.WithTimeout(ctx, importTimeout)
		names, err := im.rt.ImportImages(ictx, path)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				im.log.Warn("import images", "file", path, "err", err)
			}
			continue
		}
		im.log.Info("imported images", "file", path, "images", names)
		im.mu.Lock()
		im.done[key] = true
		im.mu.Unlock()
	}
}

// itoa64 formats n in decimal.
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
