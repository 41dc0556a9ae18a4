package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Targets: goals for the design (README Performance), shown beside the numbers.
const (
	targetReqPerCall   = 0.05  // CRM requests per written call, backfill
	targetBackfillSec  = 120.0 // 100,000-call backfill at 20 ms on 2 cores
	targetRSSMiB       = 100.0
	targetWebhookPerS  = 2000.0
	targetWebhookP99MS = 20.0
	targetRoutingP99MS = 5.0 // cached lookups
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
		add(name, "wall time", fmt.Sprintf("%.1f s", b.WallSec), wallTarget, wallV)
		add(name, "calls per second", fmt.Sprintf("%.0f", b.CallsPerS), "", "")
		add(name, "written / expected / in CRM", fmt.Sprintf("%d / %d / %d", b.Written, b.Expected, b.Activities), "all equal", verdict(b.OK))
		add(name, "CRM requests per written call", fmt.Sprintf("%.4f (%d)", b.CRMReqPerWritten, b.CRMRequests),
			fmt.Sprintf("<= %.2f", targetReqPerCall), verdict(b.Written > 0 && b.CRMReqPerWritten <= targetReqPerCall))
		add(name, "Enreach requests", fmt.Sprint(b.EnreachRequests), "", "")
		add(name, "peak RSS (callsync process)", fmt.Sprintf("%.1f MiB", b.PeakRSSMiB), rssTarget, rssV)
		add(name, "callsync CPU (user+sys)", fmt.Sprintf("%.1f s", b.ChildCPUSec), "", "")
		add(name, "time inside the CRM double", fmt.Sprintf("%.1f s", b.CRMDoubleSec), "", "")
	}
	if s := r.Steady; s != nil {
		name := fmt.Sprintf("steady %d tenants", s.Tenants)
		add(name, "calls per cycle", fmt.Sprintf("%.0f", s.CallsPerCycle), "", "")
		add(name, "cycle wall time", fmt.Sprintf("%.0f ms", s.CycleWallMS), "", "")
		add(name, "CPU per cycle (whole process)", fmt.Sprintf("%.0f ms (%.2f ms/call)", s.CPUPerCycleMS, s.CPUPerCallMS), "", "")
		add(name, "CRM requests per call", fmt.Sprintf("%.2f", s.CRMRequestsPerCall), "", "")
		add(name, "Enreach requests per cycle", fmt.Sprintf("%.0f", s.EnreachReqPerCycle), "", "")
		add(name, "call end -> CRM record p50 / p99", fmt.Sprintf("%.1f / %.1f s", s.EndToRecordP50MS/1000, s.EndToRecordP99MS/1000), "", "")
		add(name, "cycle start -> tenant done p99", fmt.Sprintf("%.0f ms", s.CycleToRecordP99MS), "", "")
		add(name, "written / expected", fmt.Sprintf("%d / %d", s.Written, s.Expected), "equal", verdict(len(s.Problems) == 0))
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
