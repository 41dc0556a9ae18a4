//go:build unix

package jobs

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/internal/cputime"
	"github.com/callsync/callsync/store"
)

// BenchmarkResolveUsers is a steady cycle's user mapping: the agents of its
// calls (3 and the default assignee) in a tenant of 50 agents, all mapped
// and fresh in the SQLite store's user map, as process CPU per cycle
// (cpu-us/op; `go test -bench ResolveUsers -benchtime 5000x ./jobs`).
func BenchmarkResolveUsers(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "b.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
	var ms []store.UserMapping
	for i := range 50 {
		ms = append(ms, store.UserMapping{EnreachUserID: fmt.Sprintf("0f6b2c1e-9f7a-4f6e-8d52-%012d", i), CRMUserID: fmt.Sprintf("crm-%d", i),
			Email: fmt.Sprintf("agent%02d@bench.example", i), FetchedAt: now})
	}
	if err := st.SaveUserMap(ctx, "bench", ms); err != nil {
		b.Fatal(err)
	}
	cfg := config.DefaultTenant()
	cfg.Name = "bench"
	t := NewTenant(cfg, nil, nil, nil)
	s := &Syncer{Store: st}
	ids := []string{ms[0].EnreachUserID, ms[7].EnreachUserID, ms[23].EnreachUserID, ms[41].EnreachUserID}
	b.ReportAllocs()
	n, c0 := 0, cputime.Self()
	for b.Loop() {
		got, err := s.resolveUsers(ctx, t, directory{}, ids, now.Add(time.Minute))
		if err != nil || got[ids[2]] != "crm-23" {
			b.Fatalf("%v, %v", got, err)
		}
		n++
	}
	b.ReportMetric(float64(cputime.Self()-c0)/float64(n)/1e3, "cpu-us/op")
}
