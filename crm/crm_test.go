package crm_test

import (
	"testing"

	"github.com/callsync/callsync/crm"
)

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		tenant string
		kind   crm.Kind
		id     string
	}{{"contoso", crm.KindCall, "3f2a"}, {"a-b", crm.KindCallback, "x/y"}} {
		tn, k, id, ok := crm.ParseKey(crm.Key(tc.tenant, tc.kind, tc.id))
		if !ok || tn != tc.tenant || k != tc.kind || id != tc.id {
			t.Errorf("ParseKey(Key(%q,%q,%q)) = %q %q %q %v", tc.tenant, tc.kind, tc.id, tn, k, id, ok)
		}
	}
	for _, s := range []string{"", "manual-1", "callsync/v1/", "callsync/v1/t", "callsync/v1/t/call/", "callsync/v1/t/note/1", "sha256:abc"} {
		if _, _, _, ok := crm.ParseKey(s); ok {
			t.Errorf("ParseKey(%q) ok, want not a key", s)
		}
	}
}
