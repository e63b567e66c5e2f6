#!/usr/bin/env bash
# scripts/demo.sh (run by `make demo`): build berth and run a single-node control
# plane on 127.0.0.1:6443 with its data in $DATA_DIR (default .demo-data in the
# repository), show that kubectl can talk to it, then keep it running until Ctrl-C.
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
log "starting: bin/berth server --data-dir $DATA_DIR --listen $LISTEN (log: $SERVER_LOG)"
"$BERTH" server --data-dir "$DATA_DIR" --listen "$LISTEN" >"$SERVER_LOG" 2>&1 &
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
log "kubectl --kubeconfig $READONLY_KUBECONFIG get namespaces"
kubectl --kubeconfig "$READONLY_KUBECONFIG" --request-timeout=10s get namespaces ||
	fail "kubectl get namespaces with the readonly kubeconfig failed"

if [[ "$ONESHOT" == "1" ]]; then
	log "DEMO_ONESHOT=1: checks passed"
	stop_server
	exit 0
fi

log "berth server is running (pid $server_pid); Ctrl-C stops it. Server log: $SERVER_LOG"
wait "$server_pid" && rc=0 || rc=$?
server_pid=""
fail "berth server exited on its own (status $rc)"
