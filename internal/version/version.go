// Package version holds the version of the berth binary.
//
// The value is stamped at link time by `make build`:
//
//	go build -ldflags "-X github.com/berth-dev/berth/internal/version.Version=v0.1.0" ./cmd/berth
package version

// Version is the version of this build: the output of `git describe --always
// --dirty` when built with `make build`, and "dev" for a plain `go build`.
var Version = "dev"
