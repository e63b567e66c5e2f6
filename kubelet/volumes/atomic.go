package volumes

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// dataLink is the symlink to the current payload directory, as the
// kubelet's AtomicWriter names it.
const dataLink = "..data"

// file is one file of a configMap or secret volume's payload.
type file struct {
	data []byte
	mode fs.FileMode
}

// writeAtomic makes dir hold payload (relative path → file) the way the
// kubelet's AtomicWriter does: the files live in a timestamped directory
// "..2006_01_02_15_04_05.NNN", "..data" is a symlink to it, and each
// top-level name is a symlink through "..data". An update writes a new
// timestamped directory and swaps "..data" with a rename, so a container
// with dir mounted sees either the old or the new payload, never a mix.
// An unchanged payload is left alone.
func writeAtomic(dir string, payload map[string]file) error {
	for p := range payload {
		if err := validPayloadPath(p); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create volume directory: %w", err)
	}
	oldTS, _ := os.Readlink(filepath.Join(dir, dataLink))
	var oldNames map[string]bool
	if oldTS != "" {
		same, names, err := samePayload(filepath.Join(dir, oldTS), payload)
		if err != nil {
			return err
		}
		if same {
			return ensureLinks(dir, payload)
		}
		oldNames = names
	}

	tsDir, err := os.MkdirTemp(dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return fmt.Errorf("create payload directory: %w", err)
	}
	if err := os.Chmod(tsDir, 0o755); err != nil {
		return fmt.Errorf("chmod payload directory: %w", err)
	}
	for p, f := range payload {
		full := filepath.Join(tsDir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("create directory of %s: %w", p, err)
		}
		if err := os.WriteFile(full, f.data, f.mode); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.Chmod(full, f.mode); err != nil {
			return fmt.Errorf("chmod %s: %w", p, err)
		}
	}
	tmpLink := filepath.Join(dir, dataLink+"_tmp")
	_ = os.Remove(tmpLink)
	if err := os.Symlink(filepath.Base(tsDir), tmpLink); err != nil {
		return fmt.Errorf("link new payload: %w", err)
	}
	if err := os.Rename(tmpLink, filepath.Join(dir, dataLink)); err != nil {
		return fmt.Errorf("swap in new payload: %w", err)
	}
	if err := ensureLinks(dir, payload); err != nil {
		return err
	}
	newNames := topLevel(payload)
	for name := range oldNames {
		if !newNames[name] {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("remove old link %s: %w", name, err)
			}
		}
	}
	if oldTS != "" {
		if err := os.RemoveAll(filepath.Join(dir, oldTS)); err != nil {
			return fmt.Errorf("remove old payload: %w", err)
		}
	}
	return nil
}

// ensureLinks creates the user-visible symlink of each top-level name.
func ensureLinks(dir string, payload map[string]file) error {
	for name := range topLevel(payload) {
		link := filepath.Join(dir, name)
		target := filepath.Join(dataLink, name)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		_ = os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			return fmt.Errorf("link %s: %w", name, err)
		}
	}
	return nil
}

func topLevel(payload map[string]file) map[string]bool {
	names := map[string]bool{}
	for p := range payload {
		names[strings.SplitN(p, "/", 2)[0]] = true
	}
	return names
}

// samePayload compares the files under tsDir with payload; it also returns
// the top-level names found there.
func samePayload(tsDir string, payload map[string]file) (bool, map[string]bool, error) {
	found := map[string]file{}
	err := filepath.WalkDir(tsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(tsDir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		found[filepath.ToSlash(rel)] = file{data: data, mode: info.Mode().Perm()}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		return false, nil, fmt.Errorf("read current payload: %w", err)
	}
	names := topLevel(found)
	if len(found) != len(payload) {
		return false, names, nil
	}
	for p, f := range payload {
		g, ok := found[p]
		if !ok || g.mode != f.mode.Perm() || !bytes.Equal(g.data, f.data) {
			return false, names, nil
		}
	}
	return true, names, nil
}

// validPayloadPath rejects a file path that is absolute, climbs out with
// "..", or starts with ".." (reserved for the writer's own names).
func validPayloadPath(p string) error {
	if p == "" {
		return fmt.Errorf("invalid file path %q: empty", p)
	}
	if filepath.IsAbs(p) {
		return fmt.Errorf("invalid file path %q: must be relative", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." || part == "" || part == "." {
			return fmt.Errorf("invalid file path %q: must not contain '..', '.' or empty elements", p)
		}
	}
	if strings.HasPrefix(p, "..") {
		return fmt.Errorf("invalid file path %q: must not start with '..'", p)
	}
	return nil
}
