package store_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/callsync/callsync/store"
)

// The queries name states as SQL literals (ledger.state, webhook_inbox.state
// are text columns); each literal must be one of the Go constants, so a
// renamed or mistyped state cannot silently match no row.
func TestQueryStateLiteralsAreKnownStates(t *testing.T) {
	files, err := filepath.Glob("../queries/*/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no queries found: %v", err)
	}
	cmp := regexp.MustCompile(`(?i)\bstate\s*(?:=|!=|<>)\s*'([^']*)'`)
	in := regexp.MustCompile(`(?i)\bstate\s+(?:NOT\s+)?IN\s*\(([^)]*)\)`)
	lit := regexp.MustCompile(`'([^']*)'`)
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sql := string(b)
		var got []string
		for _, m := range cmp.FindAllStringSubmatch(sql, -1) {
			got = append(got, m[1])
		}
		for _, m := range in.FindAllStringSubmatch(sql, -1) {
			for _, l := range lit.FindAllStringSubmatch(m[1], -1) {
				got = append(got, l[1])
			}
		}
		inbox := strings.HasSuffix(f, "inbox.sql")
		for _, s := range got {
			seen++
			if inbox && !slices.Contains(store.InboxStates, store.InboxState(s)) {
				t.Errorf("%s: inbox state '%s' is not a store.InboxState", f, s)
			}
			if !inbox && !slices.Contains(store.LedgerStates, store.LedgerState(s)) {
				t.Errorf("%s: ledger state '%s' is not a store.LedgerState", f, s)
			}
		}
	}
	if seen == 0 {
		t.Fatal("no state literal found in the queries: the pattern no longer matches them")
	}
}
