package kubeproxy

import (
	"bytes"
	"maps"
	"slices"
)

// tables are the tables berth writes, in the order it writes them.
var tables = []string{"filter", "nat"}

// Full renders the whole rule set as iptables-restore input for
// `--noflush`: each chain is declared (which creates it, or flushes it if
// it exists) and filled. With stale, chains berth owns that exist but are
// not in the rule set are flushed and deleted too; stale maps a table to
// its chain names (as listed by iptables-save; names not starting with
// BERTH- are ignored).
func (rs *RuleSet) Full(stale map[string][]string) []byte {
	var buf bytes.Buffer
	for _, table := range tables {
		chains := rs.Tables[table]
		var gone []string
		for _, c := range stale[table] {
			if _, ok := chains[c]; !ok && isOwnChain(c) {
				gone = append(gone, c)
			}
		}
		writeTable(&buf, table, chains, slices.Sorted(maps.Keys(chains)), gone)
	}
	return buf.Bytes()
}

// Update renders what changed from prev (the rule set last applied) to
// rs: chains whose rules changed are declared and rewritten, chains that
// are gone are flushed and deleted, and unchanged chains are not
// mentioned at all, so that iptables-restore --noflush keeps them as they
// are (declaring a chain flushes it). It returns nil when nothing changed.
func (rs *RuleSet) Update(prev *RuleSet) []byte {
	var buf bytes.Buffer
	changed := false
	for _, table := range tables {
		chains, old := rs.Tables[table], prev.Tables[table]
		var write, gone []string
		for _, c := range slices.Sorted(maps.Keys(chains)) {
			if o, ok := old[c]; !ok || !slices.Equal(o, chains[c]) {
				write = append(write, c)
			}
		}
		for _, c := range slices.Sorted(maps.Keys(old)) {
			if _, ok := chains[c]; !ok {
				gone = append(gone, c)
			}
		}
		if len(write) == 0 && len(gone) == 0 {
			continue
		}
		changed = true
		writeTable(&buf, table, chains, write, gone)
	}
	if !changed {
		return nil
	}
	return buf.Bytes()
}

// writeTable writes one table's section: the declarations of write and
// gone, the rules of write, then the deletions of gone (last, when no
// rewritten chain refers to them any more).
func writeTable(buf *bytes.Buffer, table string, chains map[string][]string, write, gone []string) {
	buf.WriteString("*" + table + "\n")
	for _, c := range write {
		buf.WriteString(":" + c + " - [0:0]\n")
	}
	for _, c := range gone {
		buf.WriteString(":" + c + " - [0:0]\n")
	}
	for _, c := range write {
		for _, r := range chains[c] {
			buf.WriteString(r)
			buf.WriteByte('\n')
		}
	}
	for _, c := range gone {
		buf.WriteString("-X " + c + "\n")
	}
	buf.WriteString("COMMIT\n")
}

// isOwnChain is whether berth owns a chain of this name.
func isOwnChain(name string) bool {
	return len(name) > len(chainPrefix) && name[:len(chainPrefix)] == chainPrefix
}
