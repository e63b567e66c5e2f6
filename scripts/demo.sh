#!/usr/bin/env bash
# scripts/demo.sh (run by `make demo`, as root): a one-node berth cluster that
# follows a git repository, end to end with real containers.
#
# It installs what is missing (containerd, runc, CNI plugins, iptables,
# conntrack, curl, git) with apt-get, builds bin/berth and the hello image,
# copies examples/hello into a fresh git repository, and runs `berth up` on
# it with the node inside a network namespace of its own (berth-demo, whose
# uplink leads nowhere: pod and Service traffic cannot leave the machine).
# It waits for the Deployment, fetches the Service through its ClusterIP and
# its NodePort and shows which replicas answered, prints `berth status`,
# then commits a change (4 replicas, v2, a new message) and shows it roll
# out. It keeps running until Ctrl-C.
#
#   DATA_DIR=/tmp/berth make demo     use another data directory (default .demo-data)
#   DEMO_ONESHOT=1 make demo          run the checks, stop, exit 0 only if they all passed
set -euo pipefail

caller_pwd="$PWD"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$PWD"

DATA_DIR="${DATA_DIR:-$repo/.demo-data}"
case "$DATA_DIR" in /*) ;; *) DATA_DIR="$caller_pwd/$DATA_DIR" ;; esac
LISTEN="127.0.0.1:6443"
URL="https://$LISTEN"
ONESHOT="${DEMO_ONESHOT:-0}"
READY_TIMEOUT="${DEMO_READY_TIMEOUT:-60}"    # seconds for the API server
ROLLOUT_TIMEOUT="${DEMO_ROLLOUT_TIMEOUT:-180}" # seconds for pods to be available
BERTH="$repo/bin/berth"
ADMIN_KUBECONFIG="$DATA_DIR/admin.kubeconfig"
READONLY_KUBECONFIG="$DATA_DIR/readonly.kubeconfig"
SERVER_LOG="$DATA_DIR/demo-berth.log"
GIT_REPO="$DATA_DIR/repo"
AGENT_DIR="$DATA_DIR/agent"
NETNS="berth-demo"
NODE_IP="192.168.234.10"
NODE_NAME="demo-node"

log() { printf '==> %s\n' "$*"; }
fail() {
	printf '==> FAILED: %s\n' "$*" >&2
	if [[ -n "$berth_started" && -s "$SERVER_LOG" ]]; then
		printf '==> last lines of %s:\n' "$SERVER_LOG" >&2
		tail -n 40 "$SERVER_LOG" >&2
	fi
	exit 1
}

[[ "$(id -u)" == "0" ]] || fail "make demo runs containers and network namespaces: run it as root"

# --- what the demo needs -------------------------------------------------
need=()
want() { command -v "$1" >/dev/null 2>&1 || [[ -x "$1" ]] || need+=("$2"); }
want containerd containerd
want runc runc
want /usr/lib/cni/bridge containernetworking-plugins
want iptables iptables
want iptables-legacy-restore iptables
want conntrack conntrack
want curl curl
want git git
want ip iproute2
if ((${#need[@]})); then
	mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
	command -v apt-get >/dev/null 2>&1 || fail "missing ${need[*]}, and no apt-get to install them"
	log "installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v kubectl >/dev/null 2>&1 || fail "kubectl not found on PATH (.ci/run builds one into /usr/local/bin)"

# --- cleaning up ---------------------------------------------------------
berth_pid=""
berth_started="" # set once this run has started berth (and truncated its log)
stop_berth() {
	[[ -n "$berth_pid" ]] || return 0
	if kill -0 "$berth_pid" 2>/dev/null; then
		log "stopping berth (pid $berth_pid)"
		kill -TERM "$berth_pid" 2>/dev/null || true
		for _ in $(seq 1 150); do
			kill -0 "$berth_pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$berth_pid" 2>/dev/null; then
			log "berth did not stop within 15s; killing it"
			kill -KILL "$berth_pid" 2>/dev/null || true
		fi
	fi
	wait "$berth_pid" 2>/dev/null || true
	berth_pid=""
}
# clean_node removes what a (this or an earlier) demo's node left: its
# containers (berth keeps them running across its own restarts), their
# shims, mounts and pinned namespaces, and the node's network namespace.
clean_node() {
	local runc_root="$AGENT_DIR/containerd/state/runc/berth"
	if [[ -d "$runc_root" ]]; then
		for id in $(runc --root "$runc_root" list -q 2>/dev/null); do
			runc --root "$runc_root" delete -f "$id" >/dev/null 2>&1 || true
		done
	fi
	pkill -KILL -f "containerd-shim.*$AGENT_DIR/" 2>/dev/null || true
	pkill -KILL -f "containerd --config $AGENT_DIR/" 2>/dev/null || true
	if [[ -d "$DATA_DIR" ]]; then
		awk -v d="$DATA_DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
			umount -l "$m" 2>/dev/null || true
		done
	fi
	ip netns del "$NETNS" 2>/dev/null || true
}
cleanup() {
	stop_berth
	clean_node
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Something already answering on the port would make the checks below lie.
if (exec 3<>"/dev/tcp/${LISTEN%:*}/${LISTEN#*:}") 2>/dev/null; then
	fail "something is already listening on $LISTEN (an earlier demo still running?)"
fi

log "building $BERTH and the hello image"
make --no-print-directory -C "$repo" build
go run ./images -out bin/images -only hello

clean_node
rm -rf "$DATA_DIR"
mkdir -p "$DATA_DIR" "$AGENT_DIR/images"
cp bin/images/hello.tar "$AGENT_DIR/images/"

log "making the node's network namespace $NETNS ($NODE_IP; its uplink leads nowhere)"
ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
ip -n "$NETNS" link add eth0 type veth peer name deadend0
ip -n "$NETNS" addr add "$NODE_IP/24" dev eth0
ip -n "$NETNS" link set eth0 up
ip -n "$NETNS" route add default via 192.168.234.254 dev eth0 onlink
innode() { ip netns exec "$NETNS" "$@"; }

git_commit() {
	git -C "$GIT_REPO" add -A
	git -C "$GIT_REPO" -c user.name="berth demo" -c user.email=demo@berth.local commit -q -m "$1"
	git -C "$GIT_REPO" rev-parse HEAD
}
log "making a git repository of examples/hello in $GIT_REPO"
mkdir -p "$GIT_REPO"
cp -r "$repo/examples/hello/." "$GIT_REPO/"
git -C "$GIT_REPO" init -q -b main
first_rev="$(git_commit "hello: three replicas")"

log "starting: bin/berth up --data-dir $DATA_DIR --repo $GIT_REPO --node-netns /run/netns/$NETNS (log: $SERVER_LOG)"
"$BERTH" up --data-dir "$DATA_DIR" --listen "$LISTEN" --repo "$GIT_REPO" \
	--node-name "$NODE_NAME" --node-netns "/run/netns/$NETNS" --kubelet-addr 127.0.0.1:10250 >"$SERVER_LOG" 2>&1 &
berth_pid=$!
berth_started=1
up_started=$SECONDS

ro() { kubectl --kubeconfig "$READONLY_KUBECONFIG" --request-timeout=10s "$@"; }
alive() {
	kill -0 "$berth_pid" 2>/dev/null && return 0
	wait "$berth_pid" && rc=0 || rc=$?
	berth_pid=""
	fail "berth exited (status $rc)"
}

log "waiting for $URL/readyz"
deadline=$((SECONDS + READY_TIMEOUT))
until [[ -s "$READONLY_KUBECONFIG" ]] && ro get --raw /readyz >/dev/null 2>&1; do
	alive
	((SECONDS < deadline)) || fail "$URL/readyz did not answer within ${READY_TIMEOUT}s"
	sleep 0.3
done
log "API server ready after $((SECONDS - up_started))s"

# wait_applied REV: wait until the GitSource default has applied REV, or failed on it.
wait_applied() {
	local want="$1" deadline=$((SECONDS + 60)) applied phase
	while ((SECONDS < deadline)); do
		alive
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
		sleep 0.3
	done
	fail "revision ${want:0:8} was not applied within 60s"
}

# wait_rolled_out N: wait until Deployment hello has N replicas, all updated and available, and no others.
wait_rolled_out() {
	local want="$1" deadline=$((SECONDS + ROLLOUT_TIMEOUT)) got
	while ((SECONDS < deadline)); do
		alive
		got="$(ro get deployment hello -n hello -o jsonpath='{.status.replicas}/{.status.updatedReplicas}/{.status.availableReplicas}' 2>/dev/null || true)"
		[[ "$got" == "$want/$want/$want" ]] && return 0
		sleep 0.3
	done
	ro get pods -n hello -o wide >&2 || true
	fail "Deployment hello not rolled out to $want available replicas within ${ROLLOUT_TIMEOUT}s (replicas/updated/available: $got)"
}

# fetch URL N: GET URL N times from inside the node, one line per answer.
fetch() {
	local url="$1" n="$2"
	for _ in $(seq 1 "$n"); do
		innode curl -s --max-time 3 "$url" || echo "(no answer)"
	done
}

# check_answers URL N REPLICAS PATTERN: fetch URL N times; every answer must
# match PATTERN and REPLICAS replicas must have answered. Retries for a few
# seconds while the rules catch up with the endpoints.
check_answers() {
	local url="$1" n="$2" replicas="$3" pattern="$4" deadline=$((SECONDS + 20)) answers distinct
	while :; do
		answers="$(fetch "$url" "$n")"
		distinct="$(grep -o 'hello from [^ ]*' <<<"$answers" | sort -u | wc -l)"
		if ! grep -qv -- "$pattern" <<<"$answers" && ((distinct == replicas)); then
			sort <<<"$answers" | uniq -c | sed 's/^/      /'
			return 0
		fi
		((SECONDS < deadline)) || {
			sort <<<"$answers" | uniq -c >&2
			fail "$url: want $n answers matching '$pattern' from $replicas replicas"
		}
		sleep 1
	done
}

log "waiting for the first revision to be synced from git"
wait_applied "$first_rev"
log "waiting for Deployment hello: 3 replicas pulled from git, scheduled, started and Ready"
wait_rolled_out 3
log "3 replicas available $((SECONDS - up_started))s after berth up started"
ro get pods -n hello -o wide

cluster_ip="$(ro get service hello -n hello -o jsonpath='{.spec.clusterIP}')"
node_port="$(ro get service hello -n hello -o jsonpath='{.spec.ports[0].nodePort}')"
log "30 requests to the ClusterIP, http://$cluster_ip/ (from the node):"
check_answers "http://$cluster_ip/" 30 3 "hello from .* (v1)"
log "30 requests to the NodePort, http://$NODE_IP:$node_port/:"
check_answers "http://$NODE_IP:$node_port/" 30 3 "hello from .* (v1)"

log "berth status"
"$BERTH" status --kubeconfig "$READONLY_KUBECONFIG" || fail "berth status failed"

log "committing a change: 4 replicas, version v2 and a new message"
sed -i 's/replicas: 3/replicas: 4/; s/value: "v1"/value: "v2"/' "$GIT_REPO/deployment.yaml"
sed -i 's/message: .*/message: "Hello again: this change was a git commit."/' "$GIT_REPO/config.yaml"
pushed=$SECONDS
second_rev="$(git_commit "hello: four replicas, v2, a new message")"
wait_applied "$second_rev"
log "rolling out"
wait_rolled_out 4
log "rolled out $((SECONDS - pushed))s after the commit (the GitSource polls every 5s; a webhook makes it sub-second)"
ro get pods -n hello -o wide
log "40 requests to the ClusterIP:"
check_answers "http://$cluster_ip/" 40 4 "hello from .* (v2): Hello again"

if [[ "$ONESHOT" == "1" ]]; then
	log "DEMO_ONESHOT=1: all checks passed"
	exit 0
fi

cat <<MSG

  berth follows $GIT_REPO (branch main). Commit more:
    cd $GIT_REPO && \$EDITOR deployment.yaml && git commit -am "my change"
  and watch it arrive:
    $BERTH status --kubeconfig $READONLY_KUBECONFIG --watch
    kubectl --kubeconfig $READONLY_KUBECONFIG get pods -n hello -w
  the Service, from the node:
    ip netns exec $NETNS curl http://$cluster_ip/

MSG
log "berth is running (pid $berth_pid); Ctrl-C stops it and removes the node. Log: $SERVER_LOG"
wait "$berth_pid" && rc=0 || rc=$?
berth_pid=""
fail "berth exited on its own (status $rc)"
