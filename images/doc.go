// Command images builds the container images that `make demo` and the
// kubelet's tests run, locally and without docker or a registry, as image
// tarballs that containerd imports:
//
//	go run ./images -out bin/images            # what `make images` runs
//	go run ./images -out /tmp/x -only testbox  # just one of them
//
// It writes
//
//   - DIR/hello.tar, berth.dev/hello:latest: the demo's web server
//     (examples/apps/hello) built by `CGO_ENABLED=0 go build -trimpath
//     -ldflags "-s -w"` as /hello, with Entrypoint ["/hello"], port 8080/tcp
//     and PATH=/.
//   - DIR/testbox.tar, berth.dev/testbox:latest: Debian's static busybox
//     (package busybox-static) as /bin/busybox with a symlink in /bin for
//     every applet, PATH=/bin and Cmd ["sh"], for tests that need a shell,
//     wget, nc, sleep and friends.
//
// Both images hold a single layer owned by root with /tmp (1777) and an
// /etc/passwd and /etc/group naming root and nobody (65534), so that they
// run as any user. Every timestamp is fixed, so the same inputs give the
// same digests. The platform is linux and the architecture of the machine
// that builds them (the busybox is the machine's own).
//
// Each tarball is an OCI image layout (oci-layout, index.json and
// blobs/sha256/...) that also carries Docker's manifest.json pointing at the
// same blobs. The index entry is annotated io.containerd.image.name =
// berth.dev/hello:latest (and org.opencontainers.image.ref.name = latest),
// which is the name both `ctr images import` and the containerd client's
// Import give the image, with no --base-name or other flag. containerd reads
// the OCI layout and so keeps the manifest digest printed here. (A plain
// docker-archive, as tarball.Write makes, imports under the right name too,
// from manifest.json's RepoTags, but containerd then writes a manifest of
// its own with another digest.) manifest.json is there for docker load and
// for go-containerregistry's tarball.ImageFromPath.
//
// For each image it prints the reference, the manifest digest, the image ID
// (the config digest, which CRI runtimes report as the image's ID) and the
// file. Flags: -out DIR (default bin/images), -only hello,testbox (default
// both), -hello-version (default v1: what hello reports without $VERSION)
// and -busybox PATH (default /bin/busybox). It must run inside berth's
// module, as `go run ./images` from the repository does, because it builds
// the hello binary from the module's source.
package main
