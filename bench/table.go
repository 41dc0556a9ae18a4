package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Targets: goals for the design (README Performance), shown beside the numbers.
const (
	targetReqPerCall  = 0.05  // CRM requests per written call, backfill
	targetBackfillSec = 120.0 // 100,000-call backfill at 20 ms on 2 cores, any CRM
	targetDynamicsSec = 12.0  // 100,000-call Dynamics backfill at 20 ms
	targetDynamicsCPU = 5.0   // callsync's own CPU in it
	targetFloorRatio  = 1.5   // Salesforce and Zoho: wall time / request floor
	floorConcurrency  = 4     // requests in flight the floor assumes
	targetScaleGrowth = 0.15  // 1,000,000-call peak RSS over the 100,000-call one
	targetSteadyCPUMS = 1.0   // steady state CPU per call
	// targetSteadyRequests: CRM requests per written call in the steady
	// state with the phone directory.
	targetSteadyRequests = 0.3
	targetSteadyP99Sec   = 62.0 // call end -> CRM record p99 (poll interval + 2 s)
	targetRSSMiB         = 100.0
	targetWebhookPerS    = 2000.0
	targetWebhookP99MS   = 20.0
	targetRoutingP99MS   = 5.0 // cached lookups
	// targetDirectorySec and targetDirectoryMiB: a 1,000,000-record phone
	// directory load at 20 ms latency.
	targetDirectorySec = 180.0
	targetDirectoryMiB = 250.0
	// targetRoutingDirP99MS: Smart Routing p99 answered from the phone
	// directory, lookups offered as calls arrive (-routing-rate).
	targetRoutingDirP99MS = 2.0
)

// row is one line of the table.
type row struct{ bench, metric, value, target, verdict string }

func verdict(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISS"
}

// printTable writes the results as one table.
func printTable(w io.Writer, o options, r Results) {
	var rows []row
	add := func(bench, metric, value, target, v string) {
		rows = append(rows, row{bench, metric, value, target, v})
	}
	fullBackfill := o.Calls == 100_000 && o.Latency.Milliseconds() == 20
	for _, b := range r.Backfill {
		name := "backfill " + b.CRM
		wallTarget, wallV := "", ""
		rssTarget, rssV := "", ""
		if fullBackfill {
			wallTarget, wallV = fmt.Sprintf("< %.0f s", targetBackfillSec), verdict(b.WallSec < targetBackfillSec)
		}
		rssTarget, rssV = fmt.Sprintf("< %.0f MiB", targetRSSMiB), verdict(b.PeakRSSMiB < targetRSSMiB)
		if fullBackfill && b.CRM == "dynamics" {
			wallTarget, wallV = fmt.Sprintf("<= %.0f s", targetDynamicsSec), verdict(b.WallSec <= targetDynamicsSec)
		}
		add(name, "wall time", fmt.Sprintf("%.1f s", b.WallSec), wallTarget, wallV)
		floor := b.FloorSec()
		if floor > 0 {
			ft, fv := "", ""
			if b.CRM != "dynamics" {
				ft, fv = fmt.Sprintf("<= %.1fx", targetFloorRatio), verdict(b.WallSec/floor <= targetFloorRatio)
			}
			add(name, fmt.Sprintf("wall / request floor (%d requests x %s / %d)", b.CRMRequests+b.EnreachRequests, o.Latency, floorConcurrency),
				fmt.Sprintf("%.2fx (floor %.1f s)", b.WallSec/floor, floor), ft, fv)
		}
		add(name, "calls per second", fmt.Sprintf("%.0f", b.CallsPerS), "", "")
		add(name, "written / expected / in CRM", fmt.Sprintf("%d / %d / %d", b.Written, b.Expected, b.Activities), "all equal", verdict(b.OK))
		add(name, "CRM requests per written call", fmt.Sprintf("%.4f (%d)", b.CRMReqPerWritten, b.CRMRequests),
			fmt.Sprintf("<= %.2f", targetReqPerCall), verdict(b.Written > 0 && b.CRMReqPerWritten <= targetReqPerCall))
		add(name, "Enreach requests", fmt.Sprint(b.EnreachRequests), "", "")
		add(name, "peak RSS (callsync process)", fmt.Sprintf("%.1f MiB", b.PeakRSSMiB), rssTarget, rssV)
		cpuT, cpuV := "", ""
		if fullBackfill && b.CRM == "dynamics" {
			cpuT, cpuV = fmt.Sprintf("<= %.0f s", targetDynamicsCPU), verdict(b.ChildCPUSec <= targetDynamicsCPU)
		}
		add(name, "callsync CPU (user+sys)", fmt.Sprintf("%.1f s (%.0f us/call)", b.ChildCPUSec, b.ChildCPUSec/float64(b.Calls)*1e6), cpuT, cpuV)
		add(name, "time inside the CRM double", fmt.Sprintf("%.1f s", b.CRMDoubleSec), "", "")
		add(name, "bench process CPU meanwhile (doubles, proxies)", fmt.Sprintf("%.1f s", b.BenchCPUSec), "", "")
		add(name, "bench process collections, allocated meanwhile", fmt.Sprintf("%d, %.0f MiB", b.BenchGCs, b.BenchAllocMiB), "", "")
	}
	for _, d := range r.Directory {
		name := fmt.Sprintf("directory load %d records", d.Records)
		wallTarget, rssTarget, wallOK, rssOK := "", "", "", ""
		if d.Records >= 1_000_000 {
			wallTarget, wallOK = fmt.Sprintf("< %.0f s", targetDirectorySec), verdict(d.WallSec < targetDirectorySec)
			rssTarget, rssOK = fmt.Sprintf("< %.0f MiB", targetDirectoryMiB), verdict(d.PeakRSSMiB < targetDirectoryMiB)
		}
		add(name, "wall time", fmt.Sprintf("%.1f s (%.0f records/s)", d.WallSec, d.RecordsPerS), wallTarget, wallOK)
		add(name, "records / numbers read", fmt.Sprintf("%d / %d", d.Loaded, d.Numbers), "all", verdict(d.OK))
		add(name, "CRM requests", fmt.Sprintf("%d", d.Requests), "", "")
		add(name, "peak RSS (callsync process)", fmt.Sprintf("%.1f MiB", d.PeakRSSMiB), rssTarget, rssOK)
		add(name, "callsync CPU (user+sys)", fmt.Sprintf("%.1f s", d.ChildCPUSec), "", "")
		add(name, "store bytes per million numbers", fmt.Sprintf("%.0f MiB", d.BytesPerMillion/(1<<20)), "", "")
	}
	steady := func(name string, s SteadyResult) {
		add(name, "calls per cycle", fmt.Sprintf("%.0f", s.CallsPerCycle), "", "")
		add(name, "cycle wall time (calls per second)", fmt.Sprintf("%.0f ms (%.0f/s)", s.CycleWallMS, s.CallsPerSecond), "", "")
		add(name, "CPU per cycle (whole process, with the doubles)", fmt.Sprintf("%.0f ms (%.2f ms/call)", s.CPUPerCycleMS, s.CPUPerCallMS), "", "")
		if s.Store == "postgres" {
			add(name, "PostgreSQL server CPU per call", fmt.Sprintf("%.2f ms", s.DBCPUPerCallMS), "", "")
		}
		if s.CallsyncCPUShare > 0 {
			add(name, "callsync CPU per call (profile: not the doubles)", fmt.Sprintf("%.2f ms (%.0f%% of the process)", s.CallsyncCPUPerCallMS, 100*s.CallsyncCPUShare),
				fmt.Sprintf("<= %.0f ms/call", targetSteadyCPUMS), verdict(s.CallsyncCPUPerCallMS <= targetSteadyCPUMS))
		}
		add(name, fmt.Sprintf("CRM requests per call (directory: %s)", s.Directory), fmt.Sprintf("%.2f (floor %.2f: directory sync + write per cycle)", s.CRMRequestsPerCall, s.CRMRequestsFloor),
			fmt.Sprintf("<= %.1f", targetSteadyRequests), verdict(s.CRMRequestsPerCall <= targetSteadyRequests))
		add(name, "Enreach requests per cycle", fmt.Sprintf("%.0f", s.EnreachReqPerCycle), "", "")
		add(name, "call end -> CRM record p50 / p99", fmt.Sprintf("%.1f / %.1f s", s.EndToRecordP50MS/1000, s.EndToRecordP99MS/1000),
			fmt.Sprintf("p99 <= %.0f s", targetSteadyP99Sec), verdict(s.EndToRecordP99MS/1000 <= targetSteadyP99Sec))
		add(name, "cycle start -> tenant done p99", fmt.Sprintf("%.0f ms", s.CycleToRecordP99MS), "", "")
		add(name, "written / expected", fmt.Sprintf("%d / %d", s.Written, s.Expected), "equal", verdict(len(s.Problems) == 0))
	}
	if s := r.Steady; s != nil {
		steady(fmt.Sprintf("steady %d tenants", s.Tenants), *s)
	}
	for _, s := range r.SteadyPG {
		steady(fmt.Sprintf("steady %d tenants, PostgreSQL, %d replica(s)", s.Tenants, s.Replicas), s)
	}
	if f := r.Failover; f != nil {
		name := fmt.Sprintf("failover %d replicas, %d tenants", f.Replicas, f.Tenants)
		add(name, fmt.Sprintf("kill -9 of the busiest (%d tenants) -> another's first cycle, first / last (lease_ttl %.0f s)", f.Moved, f.LeaseTTLSec),
			fmt.Sprintf("%.1f / %.1f s", f.FirstSec, f.WorstSec), fmt.Sprintf("< %.0f s", targetFailoverSec), verdict(len(f.Problems) == 0 && f.WorstSec > 0 && f.WorstSec < targetFailoverSec))
	}
	for _, tp := range r.Throughput {
		name := fmt.Sprintf("throughput %s %s", tp.CRM, tp.Latency)
		add(name, fmt.Sprintf("backfill of %d calls: calls per second", tp.Calls), fmt.Sprintf("%.0f", tp.CallsPerS), "", "")
		add(name, "wall / request floor", fmt.Sprintf("%.2fx (%d requests)", tp.WallSec/tp.FloorSec, tp.Requests), "", "")
	}
	if sc := r.Scale; sc != nil {
		name := fmt.Sprintf("scale %s", sc.Big.CRM)
		add(name, fmt.Sprintf("%d calls over %d days: wall / CPU", sc.Big.Calls, sc.Big.Days), fmt.Sprintf("%.0f s / %.0f s", sc.Big.WallSec, sc.Big.ChildCPUSec), "", "")
		add(name, "written / expected / in CRM", fmt.Sprintf("%d / %d / %d", sc.Big.Written, sc.Big.Expected, sc.Big.Activities), "all equal", verdict(sc.Big.OK))
		add(name, "peak RSS", fmt.Sprintf("%.1f MiB", sc.Big.PeakRSSMiB), fmt.Sprintf("< %.0f MiB", targetRSSMiB), verdict(sc.Big.PeakRSSMiB < targetRSSMiB))
		g := sc.Big.PeakRSSMiB/sc.Small.PeakRSSMiB - 1
		add(name, fmt.Sprintf("peak RSS over the %d-call run (%.1f MiB)", sc.Small.Calls, sc.Small.PeakRSSMiB), fmt.Sprintf("%+.0f%%", g*100),
			fmt.Sprintf("<= +%.0f%%", targetScaleGrowth*100), verdict(g <= targetScaleGrowth))
	}
	if h := r.Webhooks; h != nil {
		name := "webhooks"
		add(name, fmt.Sprintf("stored per second, %d senders back to back", h.Max.Senders), fmt.Sprintf("%.0f", h.Max.PerSecond),
			fmt.Sprintf(">= %.0f", targetWebhookPerS), verdict(h.Max.PerSecond >= targetWebhookPerS))
		add(name, "  ack latency p50 / p99 (saturated)", fmt.Sprintf("%.2f / %.2f ms", h.Max.AckP50MS, h.Max.AckP99MS), "", "")
		add(name, fmt.Sprintf("offered %.0f/s: stored per second", h.Paced.OfferedPerS), fmt.Sprintf("%.0f", h.Paced.PerSecond), "", "")
		add(name, "  ack latency p50 / p99", fmt.Sprintf("%.2f / %.2f ms", h.Paced.AckP50MS, h.Paced.AckP99MS),
			fmt.Sprintf("p99 < %.0f ms", targetWebhookP99MS), verdict(h.Paced.AckP99MS < targetWebhookP99MS))
		add(name, "accepted / stored", fmt.Sprintf("%d / %d of %d", h.Max.Accepted+h.Paced.Accepted, h.Stored, h.Max.Deliveries+h.Paced.Deliveries),
			"all", verdict(len(h.Problems) == 0))
	}
	if rt := r.Routing; rt != nil {
		name := fmt.Sprintf("routing %d callers", rt.Workers)
		add(name, "cached p50 / p99", fmt.Sprintf("%.2f / %.2f ms", rt.Cached.P50MS, rt.Cached.P99MS), fmt.Sprintf("p99 < %.0f ms", targetRoutingP99MS), verdict(rt.Cached.P99MS < targetRoutingP99MS))
		add(name, "uncached p50 / p99", fmt.Sprintf("%.2f / %.2f ms", rt.Uncached.P50MS, rt.Uncached.P99MS), "", "")
		add(name, "  of which inside the CRM double (mean)", fmt.Sprintf("%.2f ms", rt.DoubleMSPerUncached), "", "")
		add(name, "CRM requests cached / uncached", fmt.Sprintf("%d / %d", rt.CRMRequestsCached, rt.CRMRequestsUncached), "0 cached", verdict(rt.CRMRequestsCached == 0))
		add(name, fmt.Sprintf("from the phone directory (%d callers) p50 / p99", rt.Directory.N), fmt.Sprintf("%.2f / %.2f ms", rt.Directory.P50MS, rt.Directory.P99MS), "", "")
		add(name, "  CRM requests", fmt.Sprintf("%d", rt.CRMRequestsDirectory), "0", verdict(rt.CRMRequestsDirectory == 0))
		add(name, fmt.Sprintf("from the phone directory, offered %.0f/s: p50 / p99", rt.DirectoryOfferedPerS), fmt.Sprintf("%.2f / %.2f ms", rt.DirectoryPaced.P50MS, rt.DirectoryPaced.P99MS),
			fmt.Sprintf("p99 < %.0f ms", targetRoutingDirP99MS), verdict(rt.DirectoryPaced.P99MS < targetRoutingDirP99MS))
		add(name, "  CRM requests", fmt.Sprintf("%d", rt.CRMRequestsPaced), "0", verdict(rt.CRMRequestsPaced == 0))
	}
	if f := r.Fidelity; f != nil {
		fidelityRows(*f, add)
	}

	fmt.Fprintf(w, "callsync benchmarks: %s, %d CPUs, %s/%s, %s; simulated latency %s per request\n",
		r.Machine.CPUModel, r.Machine.CPUs, r.Machine.GOOS, r.Machine.GOARCH, r.Machine.GoVersion, o.Latency)
	fmt.Fprintf(w, "command: %s\n\n", r.Command)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "BENCHMARK\tMETRIC\tVALUE\tTARGET\t")
	last := ""
	for _, x := range rows {
		b := x.bench
		if b == last {
			b = ""
		}
		last = x.bench
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", b, x.metric, x.value, x.target, x.verdict)
	}
	tw.Flush()
	for _, f := range r.Failures {
		fmt.Fprintf(w, "PROBLEM: %s\n", f)
	}
}
