package routing

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/match"
)

var benchCRMLatency = flag.Duration("routing.crm_latency", 20*time.Millisecond,
	"simulated CRM latency per Lookup request in BenchmarkRouting")

// BenchmarkRouting measures the whole handler (auth, JSON, rules, matcher,
// directory, answer) per request against the CRM double with simulated
// latency (-routing.crm_latency, default 20ms), and reports p50/p99 per
// request latency in microseconds:
//
//	go test -bench . -run '^$' ./routing/ [-args -routing.crm_latency=50ms]
//
// cached: repeat callers whose numbers the jobs have already looked up.
// uncached: a new caller every request (one CRM Lookup each).
func BenchmarkRouting(b *testing.B) {
	const customers = 1000
	for _, bc := range []struct {
		name   string
		cached bool
	}{{"cached", true}, {"uncached", false}} {
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
			m := match.New(fc, match.Options{Region: "FI", TTL: cfg.Routing.CacheTTL.D(), Fields: Fields(cfg.Routing.Rules)})
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
			for i := 0; i < b.N; i++ {
				anum := benchNumber(i % customers)
				if !bc.cached {
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
				if w.Code != http.StatusOK && (bc.cached || i < customers) {
					b.Fatalf("request %d: status %d", i, w.Code)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(percentile(lat, 0.50), "p50-us")
			b.ReportMetric(percentile(lat, 0.99), "p99-us")
			b.ReportMetric(float64(fc.lookups.Load()-before)/float64(b.N), "crm-req/op")
		})
	}
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
