//go:build unix

package routing

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/cputime"
	"github.com/callsync/callsync/match"
	"github.com/callsync/callsync/phonedir"
	"github.com/callsync/callsync/store"
)

var benchCRMLatency = flag.Duration("routing.crm_latency", 20*time.Millisecond,
	"simulated CRM latency per Lookup request in BenchmarkRouting")

// BenchmarkRouting measures the whole handler (auth, JSON, rules, matcher,
// directory, answer) per request against the CRM double with simulated
// latency (-routing.crm_latency, default 20ms), and reports p50/p99 per
// request latency in microseconds, and the process CPU per request
// (cpu-us/op: comparable on a loaded machine, where the latencies are not):
//
//	go test -bench . -run '^$' ./routing/ [-args -routing.crm_latency=50ms]
//
// cached: repeat callers whose numbers the jobs have already looked up.
// uncached: a new caller every request (one CRM Lookup each).
// directory: callers answered from the phone directory (crm.directory:
// mirror) in a SQLite store, each number new to the matcher.
func BenchmarkRouting(b *testing.B) {
	const customers = 1000
	for _, bc := range []struct {
		name      string
		cached    bool
		directory bool
	}{{"cached", true, false}, {"uncached", false, false}, {"directory", false, true}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := config.DefaultTenant()
			cfg.Name, cfg.DefaultRegion = tenantID, "FI"
			cfg.Routing.APIKey = apiKey
			cfg.Routing.Rules = exampleRules()
			fc := &fakeCRM{delay: *benchCRMLatency}
			dir := &fakeDirectory{targets: map[string]string{}}
			for i := range customers {
				owner := fmt.Sprintf("owner-%d", i%50)
				dir.targets[owner] = fmt.Sprintf("+3584077%05d", i%50)
				fc.add(crm.Record{
					Ref:     crm.Ref{Entity: crm.Contact, ID: fmt.Sprintf("c%d", i)},
					OwnerID: owner,
					Phones:  map[string]string{"mobilephone": benchNumber(i), "telephone1": "+35891234567"},
				})
			}
			mo := match.Options{Region: "FI", TTL: cfg.Routing.CacheTTL.D(), Fields: Fields(cfg.Routing.Rules)}
			if bc.directory {
				mo.Directory = benchPhoneDirectory(b, b.N)
			}
			m := match.New(fc, mo)
			if bc.cached { // the calls job has seen these callers
				raws := make([]string, customers)
				for i := range raws {
					raws[i] = benchNumber(i)
				}
				if _, err := m.Match(context.Background(), raws, false); err != nil {
					b.Fatal(err)
				}
			}
			h := NewHandler(TenantsFunc(func(string) (Tenant, bool) {
				return Tenant{Name: tenantID, Config: cfg, Matcher: m, CRM: fc}, true
			}), Options{Directory: dir})
			before := fc.lookups.Load()
			lat := make([]time.Duration, 0, 1024)
			b.ReportAllocs()
			b.ResetTimer()
			c0 := cputime.Self()
			for i := 0; i < b.N; i++ {
				anum := benchNumber(i % customers)
				if !bc.cached && !bc.directory || bc.directory && i >= customers {
					anum = benchNumber(i) // never seen before
				}
				r := httptest.NewRequest(http.MethodPost, "/routing/"+tenantID,
					strings.NewReader(`{"anum":"`+anum+`","bnum":"`+queueNum+`","targetid":"SALES_QUEUE"}`))
				r.SetPathValue("tenant", tenantID)
				r.Header.Set("X-Benemen-APIKey", apiKey)
				w := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(w, r)
				lat = append(lat, time.Since(start))
				if w.Code != http.StatusOK && (bc.cached || bc.directory || i < customers) {
					b.Fatalf("request %d: status %d", i, w.Code)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(cputime.Self()-c0)/float64(b.N)/1e3, "cpu-us/op")
			slices.Sort(lat)
			b.ReportMetric(percentile(lat, 0.50), "p50-us")
			b.ReportMetric(percentile(lat, 0.99), "p99-us")
			b.ReportMetric(float64(fc.lookups.Load()-before)/float64(b.N), "crm-req/op")
		})
	}
}

// benchPhoneDirectory is a phone directory in a temporary SQLite store
// holding n contacts: contact i has benchNumber(i) on mobilephone, owned as
// in BenchmarkRouting.
func benchPhoneDirectory(b *testing.B, n int) *phonedir.Directory {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "callsync.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	now := time.Now().UTC()
	recs := make([]store.DirectoryRecord, 0, n)
	for i := range n {
		id := fmt.Sprintf("c%d", i)
		recs = append(recs, store.DirectoryRecord{ID: id, Numbers: []store.DirectoryNumber{{
			Entity: string(crm.Contact), RecordID: id, Field: "mobilephone", E164: benchNumber(i), Raw: benchNumber(i),
			Region: "FI", OwnerID: fmt.Sprintf("owner-%d", i%50), Modified: now,
		}}})
	}
	if err := st.ReplaceDirectoryRecords(ctx, tenantID, string(crm.Contact), 1, recs, now); err != nil {
		b.Fatal(err)
	}
	return phonedir.New(st, nil, phonedir.Options{Tenant: tenantID, Region: "FI"})
}

// benchNumber is the i-th customer's mobile number (+35850 + 7 digits).
func benchNumber(i int) string { return fmt.Sprintf("+35850%07d", i) }

// percentile returns the q-quantile (nearest rank) of sorted latencies in µs.
func percentile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(q*float64(len(sorted)))) - 1
	k = max(0, min(k, len(sorted)-1))
	return float64(sorted[k]) / float64(time.Microsecond)
}
