package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/google/go-cmp/cmp"
)

// The -update flag rewrites golden files. Several test files of a package may
// register it; the first one does.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

// updatingGolden says whether -update was given.
func updatingGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// checkGolden compares got with testdata/read/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "read", name)
	if updatingGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; run with -update to accept):\n%s", path, diff)
	}
}

// valueMask replaces what varies from run to run (times, UIDs, generated names)
// with a fixed word.
type valueMask struct {
	re   *regexp.Regexp
	with string
}

// commonMasks hide UIDs, resource versions and creation times.
var commonMasks = []valueMask{
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<uid>"},
	{regexp.MustCompile(`(resourceVersion: )"\d+"`), `${1}"<rv>"`},
	{regexp.MustCompile(`(creationTimestamp: )"[^"]+"`), `${1}"<time>"`},
	{regexp.MustCompile(`((?:CreationTimestamp|Start Time|Started|Completed At|Finished):\s+)\S.*`), "${1}<time>"},
	{regexp.MustCompile(`(Duration:\s+)\S+`), "${1}<duration>"},
	{regexp.MustCompile(`(Container ID:\s+)\S+`), "${1}<id>"},
	{regexp.MustCompile(`(\n\s*IP:\s+)\S+`), "${1}<ip>"},
	{regexp.MustCompile(`\bweb-[0-9a-z]{6,10}\b`), "web-<hash>"},
	{regexp.MustCompile(`\bweb-<hash>-[0-9a-z]{5}\b`), "web-<hash>-<suffix>"},
	{regexp.MustCompile(`\bagent-[0-9a-z]{5}\b`), "agent-<suffix>"},
	{regexp.MustCompile(`\bmigrate-[0-9a-z]{5}\b`), "migrate-<suffix>"},
}

// normalize applies the masks, then masks the named columns of every table in
// out ("AGE", "Age", "IP", ...) and aligns those tables again.
func normalize(out string, columns ...string) string {
	for _, m := range commonMasks {
		out = m.re.ReplaceAllString(out, m.with)
	}
	if len(columns) == 0 {
		return out
	}
	return maskColumns(out, columns)
}

// cellSep separates the cells of an aligned table: two spaces or more.
var cellSep = regexp.MustCompile(`\s{2,}`)

// maskColumns finds table headers naming one of columns, replaces those cells in
// the rows below (the lines of the same indentation) with "*", and aligns the
// table again with the gap it had.
func maskColumns(out string, columns []string) string {
	lines := strings.Split(out, "\n")
	var res []string
	for i := 0; i < len(lines); {
		indent, head := splitIndent(lines[i])
		cells := cellSep.Split(head, -1)
		var masked []int
		for ci, c := range cells {
			for _, want := range columns {
				if c == want {
					masked = append(masked, ci)
				}
			}
		}
		if len(masked) == 0 || len(cells) < 2 {
			res = append(res, lines[i])
			i++
			continue
		}
		block := [][]string{cells}
		gap := minGap(head)
		j := i + 1
		for ; j < len(lines); j++ {
			ind, body := splitIndent(lines[j])
			if body == "" || ind != indent {
				break
			}
			gap = min(gap, minGap(body))
			row := cellSep.Split(body, -1)
			if len(row) == len(cells) {
				for _, ci := range masked {
					if !strings.HasPrefix(row[ci], "---") {
						row[ci] = "*"
					}
				}
			}
			block = append(block, row)
		}
		var b strings.Builder
		tw := tabwriter.NewWriter(&b, 0, 8, gap, ' ', 0)
		for _, row := range block {
			_, _ = tw.Write([]byte(indent + strings.Join(row, "\t") + "\n"))
		}
		_ = tw.Flush()
		for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			res = append(res, strings.TrimRight(l, " "))
		}
		i = j
	}
	return strings.Join(res, "\n")
}

// splitIndent splits a line's leading spaces from the rest.
func splitIndent(l string) (string, string) {
	body := strings.TrimLeft(l, " ")
	return l[:len(l)-len(body)], body
}

// minGap is the narrowest run of two or more spaces in s (3, kubectl's padding,
// when there is none).
func minGap(s string) int {
	gap := 1 << 30
	for _, m := range cellSep.FindAllString(s, -1) {
		gap = min(gap, len(m))
	}
	if gap == 1<<30 {
		return 3
	}
	return gap
}
