package main

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// defaultBusybox is where Debian's busybox-static package puts its binary.
const defaultBusybox = "/bin/busybox"

// installBusybox is the advice given when no static busybox is found.
const installBusybox = "install busybox-static (apt-get install busybox-static)"

// requiredApplets are the commands tests rely on; a busybox without one of
// them is refused. (trap, the other one they use, is a shell builtin.)
var requiredApplets = []string{
	"cat", "dd", "echo", "env", "grep", "head", "id", "kill", "ls", "mkdir",
	"nc", "ps", "sh", "sleep", "tail", "test", "touch", "wget",
}

// readBusybox reads the static busybox at path and asks it for its applets.
func readBusybox(ctx context.Context, path string) (bin []byte, applets []string, err error) {
	bin, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%s not found: %s", path, installBusybox)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read busybox: %w", err)
	}
	if err := checkStatic(bin); err != nil {
		return nil, nil, fmt.Errorf("%s: %w; %s", path, err, installBusybox)
	}

	cmd := exec.CommandContext(ctx, path, "--list")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, nil, fmt.Errorf("list busybox applets: %s --list: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	applets, err = parseApplets(string(out))
	if err != nil {
		return nil, nil, fmt.Errorf("%s --list: %w", path, err)
	}
	return bin, applets, nil
}

// checkStatic returns an error unless bin is an ELF executable that needs no
// dynamic loader (no PT_INTERP program header).
func checkStatic(bin []byte) error {
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return fmt.Errorf("not an ELF executable: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return errors.New("dynamically linked (it has a program interpreter)")
		}
	}
	return nil
}

// parseApplets turns the output of `busybox --list` (one name per line) into
// a sorted list of applet names, checking that each is a plain file name
// and that every required applet is there.
func parseApplets(list string) ([]string, error) {
	seen := map[string]bool{}
	var applets []string
	for _, name := range strings.Fields(list) {
		if name == "." || name == ".." || strings.ContainsRune(name, '/') {
			return nil, fmt.Errorf("applet name %q is not a file name", name)
		}
		if name == "busybox" || seen[name] {
			continue
		}
		seen[name] = true
		applets = append(applets, name)
	}
	var missing []string
	for _, name := range requiredApplets {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("busybox lacks the applets %s", strings.Join(missing, ", "))
	}
	sort.Strings(applets)
	return applets, nil
}

// testboxImage is berth.dev/testbox: bin as /bin/busybox and a symlink to it
// in /bin for each applet, with PATH=/bin and the shell as its command.
func testboxImage(bin []byte, applets []string) (v1.Image, error) {
	entries := append(baseEntries(), dir("bin", 0o755), file("bin/busybox", 0o755, bin))
	for _, a := range applets {
		entries = append(entries, symlink("bin/"+a, "busybox"))
	}
	cfg := v1.Config{
		Cmd:        []string{"sh"},
		Env:        []string{"PATH=/bin"},
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.title": "testbox",
		},
	}
	img, err := newImage(entries, cfg, "busybox-static's /bin/busybox with its applets linked in /bin")
	if err != nil {
		return nil, fmt.Errorf("testbox image: %w", err)
	}
	return img, nil
}
