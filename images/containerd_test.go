package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	containerd "github.com/containerd/containerd"
	runcoptions "github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/cio"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/images"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/containerd/snapshots"
)

const (
	testNamespace = "berth-test"
	snapshotter   = "overlayfs"
)

// TestImagesRunInContainerd imports both tarballs into a private containerd
// (the Debian daemon, through the containerd 1.7 client) and runs them as
// the kubelet will: testbox's shell as root and as nobody, and hello until
// it is sent SIGTERM. Each container gets the default spec's fresh network
// namespace, so nothing it does reaches the machine's network.
func TestImagesRunInContainerd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: imports and runs the images in a private containerd")
	}
	needBusybox(t)
	cd := startContainerd(t)
	ctx := namespaces.WithNamespace(context.Background(), testNamespace)

	files := map[string]built{}
	imgs := map[string]containerd.Image{}
	for _, n := range []string{"hello", "testbox"} {
		files[n] = sharedImage(t, n)
		imgs[n] = cd.importImage(t, ctx, files[n])
	}

	t.Run("testbox echo", func(t *testing.T) {
		task := cd.run(t, ctx, imgs["testbox"], "echo", oci.WithProcessArgs("sh", "-c", "echo hi"))
		if code := task.finish(t, ctx); code != 0 {
			t.Errorf("exit code %d, want 0; stderr %q", code, task.stderr.String())
		}
		if got := task.stdout.String(); got != "hi\n" {
			t.Errorf("stdout %q, want %q", got, "hi\n")
		}
	})

	t.Run("testbox as nobody", func(t *testing.T) {
		task := cd.run(t, ctx, imgs["testbox"], "nobody",
			oci.WithProcessArgs("sh", "-c", "id; touch /tmp/x && ls /tmp"), oci.WithUIDGID(65534, 65534))
		if code := task.finish(t, ctx); code != 0 {
			t.Errorf("exit code %d, want 0; stderr %q", code, task.stderr.String())
		}
		want := "uid=65534(nobody) gid=65534(nobody) groups=65534(nobody)\nx\n"
		if got := task.stdout.String(); got != want {
			t.Errorf("stdout %q, want %q", got, want)
		}
	})

	t.Run("hello stops on SIGTERM", func(t *testing.T) {
		task := cd.run(t, ctx, imgs["hello"], "hello",
			oci.WithEnv([]string{"POD_NAME=hello-0", "MESSAGE=from containerd"}))
		task.waitForOutput(t, "listening on")
		if err := task.task.Kill(ctx, syscall.SIGTERM); err != nil {
			t.Fatalf("send SIGTERM: %v", err)
		}
		if code := task.finish(t, ctx); code != 0 {
			t.Errorf("exit code %d, want 0; stderr %q", code, task.stderr.String())
		}
		for _, want := range []string{"hello v1 listening on [::]:8080", "received SIGTERM", "stopped"} {
			if !strings.Contains(task.stdout.String(), want) {
				t.Errorf("stdout lacks %q:\n%s", want, task.stdout.String())
			}
		}
	})

	// Everything removed: no container, no image, no snapshot left.
	for n, b := range files {
		if err := cd.client.ImageService().Delete(ctx, b.ref, images.SynchronousDelete()); err != nil {
			t.Errorf("delete image %s: %v", n, err)
		}
	}
	if cs, err := cd.client.Containers(ctx); err != nil || len(cs) != 0 {
		t.Errorf("containers left: %d (err %v)", len(cs), err)
	}
	var snaps []string
	err := cd.client.SnapshotService(snapshotter).Walk(ctx, func(_ context.Context, i snapshots.Info) error {
		snaps = append(snaps, i.Name)
		return nil
	})
	if err != nil || len(snaps) != 0 {
		t.Errorf("snapshots left: %v (err %v)", snaps, err)
	}
}

// importImage imports the tarball of b, checks that containerd names it
// b.ref with the digest the tool printed, and unpacks it.
func (cd *privateContainerd) importImage(t *testing.T, ctx context.Context, b built) containerd.Image {
	t.Helper()
	f, err := os.Open(b.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	imported, err := cd.client.Import(ctx, f)
	if err != nil {
		t.Fatalf("import %s: %v", b.path, err)
	}
	if len(imported) != 1 || imported[0].Name != b.ref || imported[0].Target.Digest.String() != b.digest.String() {
		t.Fatalf("import %s: got %+v, want one image %s at %s", b.path, imported, b.ref, b.digest)
	}
	img, err := cd.client.GetImage(ctx, b.ref)
	if err != nil {
		t.Fatalf("get image %s: %v", b.ref, err)
	}
	if err := img.Unpack(ctx, snapshotter); err != nil {
		t.Fatalf("unpack %s: %v", b.ref, err)
	}
	cfg, err := img.Config(ctx)
	if err != nil || cfg.Digest.String() != b.id.String() {
		t.Errorf("%s: config %s (err %v), want %s", b.ref, cfg.Digest, err, b.id)
	}
	return img
}

// testTask is a container of a test and its running task.
type testTask struct {
	task           containerd.Task
	exit           <-chan containerd.ExitStatus
	stdout, stderr *syncBuffer
	deleted        bool // the task is gone; finish has run
}

// run starts a task of a new container of image, with the image's config
// and then opts applied to the spec. Cleanup kills and removes the task,
// the container and its snapshot.
func (cd *privateContainerd) run(t *testing.T, ctx context.Context, image containerd.Image, name string, opts ...oci.SpecOpts) *testTask {
	t.Helper()
	id := name + "-" + randomHex(t)
	specOpts := append([]oci.SpecOpts{
		oci.WithImageConfig(image),
		// One level below the root of each hierarchy, so that runc's
		// removal of the container's cgroup leaves nothing behind.
		oci.WithCgroup("/berth-images-test-" + id),
	}, opts...)
	container, err := cd.client.NewContainer(ctx, id,
		containerd.WithImage(image),
		containerd.WithSnapshotter(snapshotter),
		containerd.WithNewSnapshot(id, image),
		containerd.WithRuntime("io.containerd.runc.v2", &runcoptions.Options{Root: cd.runcRoot}),
		containerd.WithNewSpec(specOpts...),
	)
	if err != nil {
		t.Fatalf("create container %s: %v", id, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := container.Delete(ctx, containerd.WithSnapshotCleanup); err != nil {
			t.Errorf("delete container %s: %v", id, err)
		}
	})

	tt := &testTask{stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	tt.task, err = container.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, tt.stdout, tt.stderr), cio.WithFIFODir(cd.fifoDir)))
	if err != nil {
		t.Fatalf("create task %s: %v", id, err)
	}
	t.Cleanup(func() {
		if tt.deleted {
			return
		}
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := tt.task.Kill(ctx, syscall.SIGKILL); err != nil && !errdefs.IsNotFound(err) {
			t.Logf("kill task %s: %v", id, err)
		}
		if tt.exit != nil {
			select {
			case <-tt.exit:
			case <-ctx.Done():
			}
		}
		if _, err := tt.task.Delete(ctx, containerd.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			t.Errorf("delete task %s: %v", id, err)
		}
	})
	if tt.exit, err = tt.task.Wait(ctx); err != nil {
		t.Fatalf("wait for task %s: %v", id, err)
	}
	if err := tt.task.Start(ctx); err != nil {
		t.Fatalf("start task %s: %v", id, err)
	}
	return tt
}

// finish waits for the task to exit, deletes it (which waits for its
// output to be copied) and returns its exit code.
func (tt *testTask) finish(t *testing.T, ctx context.Context) uint32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var st containerd.ExitStatus
	select {
	case st = <-tt.exit:
	case <-ctx.Done():
		t.Fatalf("task %s did not exit; stdout %q", tt.task.ID(), tt.stdout.String())
	}
	code, _, err := st.Result()
	if err != nil {
		t.Fatalf("task %s: exit status: %v", tt.task.ID(), err)
	}
	if _, err := tt.task.Delete(ctx); err != nil {
		t.Fatalf("delete task %s: %v", tt.task.ID(), err)
	}
	tt.deleted = true
	return code
}

// waitForOutput waits until the task has written want to stdout; it fails
// if the task exits first or nothing comes within a minute.
func (tt *testTask) waitForOutput(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(tt.stdout.String(), want) {
		select {
		case st := <-tt.exit:
			t.Fatalf("task %s exited (%d) before writing %q; stdout %q stderr %q",
				tt.task.ID(), st.ExitCode(), want, tt.stdout.String(), tt.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s has not written %q; stdout %q", tt.task.ID(), want, tt.stdout.String())
		}
	}
}

// randomHex is 8 random hex digits, to keep the names of cgroups (which are
// the machine's, not the private containerd's) apart between test runs.
func randomHex(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// syncBuffer is a bytes.Buffer that containerd's copying goroutines and the
// test may use at once.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
