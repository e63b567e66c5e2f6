# berth — see README.md. `make help` lists the targets.

GO          ?= go
BIN         ?= bin/berth
PKG         := github.com/berth-dev/berth
ifndef VERSION
VERSION     := $(shell git describe --always --dirty 2>/dev/null || echo dev)
endif
LDFLAGS     := -X $(PKG)/internal/version.Version=$(VERSION)
# Pinned; staticcheck v0.8.2 is built for (and requires) Go 1.26.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build images test bench demo lint clean help

all: build

help:
	@echo 'make build   build $(BIN) (version $(VERSION))'
	@echo 'make images  build the demo and test images (berth.dev/hello, berth.dev/testbox) as tarballs in bin/images'
	@echo 'make test    go vet, then every test with -race (root-only tests skip themselves)'
	@echo 'make bench   run the benchmarks in ./bench and print their tables'
	@echo 'make demo    build and run a single-node control plane (scripts/demo.sh; DEMO_ONESHOT=1 to check and exit)'
	@echo 'make lint    gofmt, go vet and staticcheck'
	@echo 'make clean   remove bin/ and the demo data'

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/berth

images:
	$(GO) run ./images -out bin/images

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

bench:
	$(GO) run ./bench

demo:
	bash scripts/demo.sh

lint:
	@out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo 'gofmt -l (run gofmt -w on these):'; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

clean:
	rm -rf bin .demo-data
