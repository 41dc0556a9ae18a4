//go:build unix

package cluster_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/callsync/callsync/cluster"
	"github.com/callsync/callsync/internal/cputime"
	"github.com/callsync/callsync/store"
)

// BenchmarkRound is one lease round of a replica holding 500 tenants
// (heartbeat, live replicas, every lease renewed), on each engine, as
// this process's CPU per round (cpu-us/op; PostgreSQL's own CPU is not in
// it): `go test -bench Round -benchtime 200x ./cluster`.
func BenchmarkRound(b *testing.B) {
	for _, engine := range []string{"postgres", "sqlite"} {
		b.Run(engine, func(b *testing.B) {
			ctx := context.Background()
			var st *store.Store
			var err error
			if engine == "postgres" {
				st, err = store.OpenPostgres(ctx, pg.NewDatabase(b), store.PoolOptions{})
			} else {
				st, err = store.Open(ctx, filepath.Join(b.TempDir(), "c.db"))
			}
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			c := cluster.New(st, cluster.Options{ID: "a"})
			c.SetTenants(tenants(500))
			if err := c.Tick(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			n, c0 := 0, cputime.Self()
			for b.Loop() {
				if err := c.Tick(ctx); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(cputime.Self()-c0)/float64(n)/1e3, "cpu-us/op")
		})
	}
}
