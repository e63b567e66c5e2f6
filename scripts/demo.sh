#!/usr/bin/env bash
# scripts/demo.sh (run by `make demo`): build berth, copy examples/hello into a fresh
# git repository, run a single-node control plane on 127.0.0.1:6443 that syncs it
# (data in $DATA_DIR, default .demo-data in the repository), show the objects git
# declared, commit a change (4 replicas, a new message) and show it applied, then
# keep running until Ctrl-C. Pods run once the scheduler and the kubelet land.
#
#   DATA_DIR=/tmp/berth make demo     use another data directory
#   DEMO_ONESHOT=1 make demo          run the checks, stop the server, exit 0 only if they passed
set -euo pipefail

caller_pwd="$PWD"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"

DATA_DIR="${DATA_DIR:-$repo/.demo-data}"
case "$DATA_DIR" in /*) ;; *) DATA_DIR="$caller_pwd/$DATA_DIR" ;; esac
LISTEN="127.0.0.1:6443"
URL="https://$LISTEN"
ONESHOT="${DEMO_ONESHOT:-0}"
READY_TIMEOUT="${DEMO_READY_TIMEOUT:-60}" # seconds
BERTH="$repo/bin/berth"
ADMIN_KUBECONFIG="$DATA_DIR/admin.kubeconfig"
READONLY_KUBECONFIG="$DATA_DIR/readonly.kubeconfig"
SERVER_LOG="$DATA_DIR/demo-server.log"
GIT_REPO="$DATA_DIR/repo"

log() { printf '==> %s\n' "$*"; }
fail() {
	printf '==> FAILED: %s\n' "$*" >&2
	if [[ -n "$server_started" && -s "$SERVER_LOG" ]]; then
		printf '==> last lines of %s:\n' "$SERVER_LOG" >&2
		tail -n 30 "$SERVER_LOG" >&2
	fi
	exit 1
}

server_pid=""
server_started="" # set once this run has started the server (and truncated its log)
stop_server() {
	[[ -n "$server_pid" ]] || return 0
	if kill -0 "$server_pid" 2>/dev/null; then
		log "stopping berth server (pid $server_pid)"
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 100); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$server_pid" 2>/dev/null; then
			log "server did not stop within 10s; killing it"
			kill -KILL "$server_pid" 2>/dev/null || true
		fi
	fi
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Something already answering on the port would make the checks below lie.
if (exec 3<>"/dev/tcp/${LISTEN%:*}/${LISTEN#*:}") 2>/dev/null; then
	fail "something is already listening on $LISTEN (an earlier demo still running?)"
fi

log "building $BERTH"
make --no-print-directory -C "$repo" build

mkdir -p "$DATA_DIR"
git_commit() {
	git -C "$GIT_REPO" add -A
	git -C "$GIT_REPO" -c user.name="berth demo" -c user.email=demo@berth.local commit -q -m "$1"
	git -C "$GIT_REPO" rev-parse HEAD
}
log "making a git repository of examples/hello in $GIT_REPO"
rm -rf "$GIT_REPO"
mkdir -p "$GIT_REPO"
cp -r "$repo/examples/hello/." "$GIT_REPO/"
git -C "$GIT_REPO" init -q -b main
first_rev="$(git_commit "hello: three replicas")"

log "starting: bin/berth server --data-dir $DATA_DIR --listen $LISTEN --repo $GIT_REPO (log: $SERVER_LOG)"
"$BERTH" server --data-dir "$DATA_DIR" --listen "$LISTEN" --repo "$GIT_REPO" >"$SERVER_LOG" 2>&1 &
server_pid=$!
server_started=1

have_kubectl() { command -v kubectl >/dev/null 2>&1; }

# ready reports whether /readyz answers 200. It tries anonymously with curl
# first, then with the readonly token through kubectl once the kubeconfig
# exists (the server may answer 401 to anonymous requests).
ready() {
	if command -v curl >/dev/null 2>&1; then
		local code
		code="$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "$URL/readyz" || true)"
		[[ "$code" == "200" ]] && return 0
	fi
	if have_kubectl && [[ -s "$READONLY_KUBECONFIG" ]]; then
		kubectl --kubeconfig "$READONLY_KUBECONFIG" --request-timeout=2s get --raw /readyz >/dev/null 2>&1 && return 0
	fi
	return 1
}

log "waiting for $URL/readyz"
started=$SECONDS
deadline=$((SECONDS + READY_TIMEOUT))
until ready; do
	if ! kill -0 "$server_pid" 2>/dev/null; then
		wait "$server_pid" && rc=0 || rc=$?
		server_pid=""
		fail "berth server exited (status $rc) before it was ready"
	fi
	if ((SECONDS >= deadline)); then
		fail "$URL/readyz did not answer within ${READY_TIMEOUT}s"
	fi
	sleep 0.5
done
log "ready after $((SECONDS - started))s"

for f in "$ADMIN_KUBECONFIG" "$READONLY_KUBECONFIG"; do
	[[ -s "$f" ]] || fail "the server is ready but $f was not written"
done

cat <<EOF

  berth control plane: $URL
  kubeconfigs:
    admin    $ADMIN_KUBECONFIG     (components; can write)
    readonly $READONLY_KUBECONFIG  (people and the CLI; writes get 403)

  try:
    kubectl --kubeconfig $READONLY_KUBECONFIG get ns
    kubectl --kubeconfig $READONLY_KUBECONFIG api-resources
    kubectl --kubeconfig $ADMIN_KUBECONFIG create namespace demo

EOF

if ! have_kubectl; then
	fail "kubectl not found on PATH (.ci/run builds one into /usr/local/bin)"
fi
ro() { kubectl --kubeconfig "$READONLY_KUBECONFIG" --request-timeout=10s "$@"; }

# wait_applied REV: wait until the GitSource default has applied REV, or failed on it.
wait_applied() {
	local want="$1" deadline=$((SECONDS + 60)) applied phase
	while ((SECONDS < deadline)); do
		applied="$(ro get gitsource default -n kube-system -o jsonpath='{.status.appliedRevision}' 2>/dev/null || true)"
		phase="$(ro get gitsource default -n kube-system -o jsonpath='{.status.phase}' 2>/dev/null || true)"
		if [[ "$applied" == "$want" ]]; then
			log "revision ${want:0:8} applied (phase $phase)"
			return 0
		fi
		if [[ "$phase" == "Failed" ]]; then
			ro get gitsource default -n kube-system -o jsonpath='{.status.lastError}{"\n"}' >&2 || true
			fail "the GitSource failed on revision ${want:0:8}"
		fi
		sleep 0.5
	done
	fail "revision ${want:0:8} was not applied within 60s"
}

log "kubectl --kubeconfig $READONLY_KUBECONFIG get namespaces"
ro get namespaces || fail "kubectl get namespaces with the readonly kubeconfig failed"

log "waiting for the first revision to be synced from git"
wait_applied "$first_rev"
ro get gitsources -A
ro get deployments,services,configmaps -n hello || fail "the objects from git are not there"

log "committing a change: 4 replicas and a new message"
sed -i 's/replicas: 3/replicas: 4/' "$GIT_REPO/deployment.yaml"
sed -i 's/message: .*/message: "Hello again: this change was a git commit."/' "$GIT_REPO/config.yaml"
second_rev="$(git_commit "hello: four replicas, a new message")"
wait_applied "$second_rev"
replicas="$(ro get deployment hello -n hello -o jsonpath='{.spec.replicas}')"
message="$(ro get configmap hello -n hello -o jsonpath='{.data.message}')"
[[ "$replicas" == "4" ]] || fail "after the commit the Deployment has $replicas replicas, want 4"
log "Deployment hello now wants $replicas replicas; the message is: $message"
ro get gitsources -A

if [[ "$ONESHOT" == "1" ]]; then
	log "DEMO_ONESHOT=1: checks passed"
	stop_server
	exit 0
fi

cat <<MSG

  berth follows $GIT_REPO (branch main). Commit more:
    cd $GIT_REPO && \$EDITOR deployment.yaml && git commit -am "my change"
  and watch it arrive:
    kubectl --kubeconfig $READONLY_KUBECONFIG get gitsources -A -w

MSG
log "berth server is running (pid $server_pid); Ctrl-C stops it. Server log: $SERVER_LOG"
wait "$server_pid" && rc=0 || rc=$?
server_pid=""
fail "berth server exited on its own (status $rc)"
