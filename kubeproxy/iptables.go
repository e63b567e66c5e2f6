package kubeproxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"

	"github.com/coreos/go-iptables/iptables"

	"github.com/berth-dev/berth/kubelet/network"
)

// berth programs iptables through the legacy (x_tables) backend, chosen by
// benchmark (bench/kubeproxy.go, 10,000 Services x 3 endpoints, on two
// loaded cores): iptables-legacy-restore loads them in about 1.3 s and
// swaps one changed chain in 0.4-0.8 s (the kernel replaces the whole
// table), while iptables-nft-restore --noflush needs about 6 s for the
// full set in berth's layout (minutes in kube-proxy's chain-per-endpoint
// layout), which a restarted proxy would pay on its first sync; nft's
// one-chain change (about 30 ms) would be faster.
//
// The CNI bridge and portmap plugins in the same namespace use `iptables`,
// which on Debian is the nft backend. The two coexist: the kernel runs
// the nat hooks of both (the first that sets up NAT for a connection
// wins; an ACCEPT in one does not stop the other), and berth's chains
// live only in the legacy tables, so neither side ever rewrites the
// other's rules. proxy_test.go runs with bridge-plugin-style nft rules in
// place to check it.
const (
	restoreCmd  = "iptables-legacy-restore"
	saveCmd     = "iptables-legacy-save"
	iptablesCmd = "iptables-legacy"
	conntrackCm = "conntrack"
)

// Binaries are the programs the proxy runs, for callers that check them.
var Binaries = []string{restoreCmd, saveCmd, iptablesCmd, conntrackCm}

// jumpComment marks the jump rules berth adds to the built-in chains.
const jumpComment = "berth kube-proxy"

// jump is a rule berth keeps at the top of a built-in chain.
type jump struct {
	table, chain string
	rule         []string
}

// jumps are the rules that send traffic from the built-in chains to
// berth's, as kube-proxy's: Service addresses in nat PREROUTING and
// OUTPUT, masquerade in POSTROUTING, and the REJECT/DROP rules of the
// filter table for new connections.
var jumps = []jump{
	{"nat", "PREROUTING", []string{"-m", "comment", "--comment", jumpComment, "-j", chainServices}},
	{"nat", "OUTPUT", []string{"-m", "comment", "--comment", jumpComment, "-j", chainServices}},
	{"nat", "POSTROUTING", []string{"-m", "comment", "--comment", jumpComment, "-j", chainPostrouting}},
	{"filter", "INPUT", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", jumpComment, "-j", chainExternalServices}},
	{"filter", "FORWARD", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", jumpComment, "-j", chainServices}},
	{"filter", "FORWARD", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", jumpComment, "-j", chainExternalServices}},
	{"filter", "FORWARD", []string{"-m", "comment", "--comment", jumpComment, "-j", chainForward}},
	{"filter", "OUTPUT", []string{"-m", "conntrack", "--ctstate", "NEW", "-m", "comment", "--comment", jumpComment, "-j", chainServices}},
}

// runner runs iptables and conntrack inside one network namespace.
type runner struct {
	netns string // empty: the process's own
	ipt   *iptables.IPTables
}

// newRunner checks that the legacy tools exist and returns a runner for
// netns.
func newRunner(netns string) (*runner, error) {
	for _, b := range Binaries {
		if _, err := exec.LookPath(b); err != nil {
			return nil, fmt.Errorf("find %s (Debian packages iptables and conntrack): %w", b, err)
		}
	}
	r := &runner{netns: netns}
	err := r.in(func() error {
		var err error
		r.ipt, err = iptables.New(iptables.Path(iptablesCmd))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("set up go-iptables for %s: %w", iptablesCmd, err)
	}
	return r, nil
}

// in runs fn inside the runner's namespace; processes fn starts are born
// there.
func (r *runner) in(fn func() error) error {
	if r.netns == "" {
		return fn()
	}
	return network.Do(r.netns, fn)
}

// restore feeds data to one `iptables-legacy-restore --noflush` run: one
// transaction per table, applied whole or not at all.
func (r *runner) restore(ctx context.Context, data []byte) error {
	return r.in(func() error {
		cmd := exec.CommandContext(ctx, restoreCmd, "--noflush", "--wait")
		cmd.Stdin = bytes.NewReader(data)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w: %s", restoreCmd, err, strings.TrimSpace(string(out)))
		}
		return nil
	})
}

// tableState is what berth needs to know of the live tables.
type tableState struct {
	// own lists the chains berth owns, by table.
	own map[string][]string
	// missing are the jump rules not in place.
	missing []jump
}

// state reads the nat and filter tables with iptables-legacy-save: the
// chains berth owns and the jump rules that are missing. (One save per
// table: at 10,000 Services every iptables call reads the whole table
// from the kernel, about 0.3 s, so checking the eight jumps one by one
// would cost seconds.)
func (r *runner) state(ctx context.Context) (tableState, error) {
	st := tableState{own: map[string][]string{}}
	present := map[string]bool{}
	for _, table := range tables {
		var data []byte
		err := r.in(func() error {
			var err error
			data, err = exec.CommandContext(ctx, saveCmd, "-t", table).Output()
			return err
		})
		if err != nil {
			return tableState{}, fmt.Errorf("%s -t %s: %w", saveCmd, table, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			if name, _, ok := strings.Cut(strings.TrimPrefix(line, ":"), " "); ok && strings.HasPrefix(line, ":") && isOwnChain(name) {
				st.own[table] = append(st.own[table], name)
			}
			if strings.HasPrefix(line, "-A ") && strings.Contains(line, jumpComment) {
				present[table+" "+jumpKey(line)] = true
			}
		}
		if err := sc.Err(); err != nil {
			return tableState{}, fmt.Errorf("read %s -t %s: %w", saveCmd, table, err)
		}
	}
	for _, j := range jumps {
		line := "-A " + j.chain + " " + strings.Join(j.rule, " ")
		if !present[j.table+" "+jumpKey(line)] {
			st.missing = append(st.missing, j)
		}
	}
	return st, nil
}

// jumpKey reduces a jump rule, as written or as iptables-save prints it,
// to its chain, whether it matches new connections only, and its target.
func jumpKey(line string) string {
	f := strings.Fields(line)
	if len(f) < 2 {
		return line
	}
	return fmt.Sprintf("%s new=%v %s", f[1], strings.Contains(line, "--ctstate NEW"), f[len(f)-1])
}

// addJumps inserts jump rules at the top of their built-in chains with
// go-iptables. The chains they jump to must exist.
func (r *runner) addJumps(missing []jump) error {
	return r.in(func() error {
		for _, j := range missing {
			if err := r.ipt.Insert(j.table, j.chain, 1, j.rule...); err != nil {
				return fmt.Errorf("add jump %s/%s -> %s: %w", j.table, j.chain, j.rule[len(j.rule)-1], err)
			}
		}
		return nil
	})
}
