package mounts

import "testing"

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/a/b`:        "/a/b",
		`/a\040b`:     "/a b",
		`/x\011y\134`: "/x\ty\\",
		`/bad\09z`:    `/bad\09z`, // not an octal escape: kept
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnderFindsRoot(t *testing.T) {
	got, err := Under("/")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0] == "" {
		t.Fatalf("Under(/) = %v, want at least the root mount", got)
	}
}
