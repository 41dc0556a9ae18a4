package main

import (
	"context"
	"fmt"

	"github.com/callsync/callsync/match/matchcorpus"
)

// Targets of the fidelity phase: never a wrong record; recall over the
// callers whose record states its country or is in the tenant's region.
const (
	targetFidelityPrecision = 1.0
	targetFidelityRecall    = 0.995
)

// fidelityPerRegion: customers of each of the corpus's seven countries.
const fidelityPerRegion = 60

// FidelityResult is the fidelity phase: the phone directory's fidelity
// corpus (match/matchcorpus) matched in-process against the in-memory CRM,
// from the directory (crm.directory: mirror, the default) and by today's
// live lookups (crm.directory: live) for comparison.
type FidelityResult struct {
	Customers int         `json:"customers"`
	Callers   int         `json:"callers"`
	Formats   int         `json:"storage_formats"`
	Mirror    FidelityRun `json:"mirror"`
	Live      FidelityRun `json:"live"`
	// Problems: wrong records from the directory (precision below 100%).
	Problems []string `json:"problems,omitempty"`
}

// FidelityRun is one crm.directory mode's matching of every caller.
type FidelityRun struct {
	Directory string              `json:"directory"`
	ByFormat  []matchcorpus.Tally `json:"by_format"`
	Total     matchcorpus.Tally   `json:"total"`
	Precision float64             `json:"precision"`
	Recall    float64             `json:"recall"`
	// LoadRequests: CRM requests of the directory's full load (mirror);
	// LookupRequests: CRM lookups while matching.
	LoadRequests   int `json:"load_requests,omitempty"`
	LookupRequests int `json:"lookup_requests"`
}

func fidelityRun(rep matchcorpus.Report) FidelityRun {
	t := rep.Total()
	return FidelityRun{Directory: rep.Mode, ByFormat: rep.Formats, Total: t, Precision: t.Precision(), Recall: t.Recall(),
		LoadRequests: rep.Load.Requests, LookupRequests: rep.LookupRequests}
}

// runFidelity builds the corpus, loads its directory into a temporary
// SQLite store and matches every caller, then matches them again by live
// lookups in the same CRM.
func runFidelity(ctx context.Context) (FidelityResult, error) {
	var r FidelityResult
	c, err := matchcorpus.New(fidelityPerRegion)
	if err != nil {
		return r, err
	}
	r.Customers, r.Callers, r.Formats = len(c.Customers), len(c.Callers), len(matchcorpus.Formats())
	st, remove, err := tempStore(ctx, "fidelity")
	if err != nil {
		return r, err
	}
	defer remove()
	defer st.Close()
	mirror, err := c.Mirror(ctx, st)
	if err != nil {
		return r, err
	}
	live, err := c.Live(ctx)
	if err != nil {
		return r, err
	}
	r.Mirror, r.Live = fidelityRun(mirror), fidelityRun(live)
	for _, o := range mirror.Outcomes {
		for _, rec := range o.Wrong {
			r.Problems = append(r.Problems, fmt.Sprintf("caller %s was given %s %s, not theirs", o.Caller, rec.Ref.Entity, rec.Ref.ID))
		}
	}
	return r, nil
}

// fidelityRows are the phase's table rows: per storage format, then the
// totals with their targets.
func fidelityRows(f FidelityResult, add func(bench, metric, value, target, verdict string)) {
	name := fmt.Sprintf("fidelity %d callers, %d formats", f.Callers, f.Formats)
	live := map[string]int{}
	for i, t := range f.Live.ByFormat {
		live[t.Format] = i
	}
	pct := func(t matchcorpus.Tally) string {
		if t.Eligible == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*t.Recall())
	}
	for _, t := range f.Mirror.ByFormat {
		v := fmt.Sprintf("%d callers, %d eligible: %d right, %d wrong, recall %s", t.Callers, t.Eligible, t.Right, t.Wrong, pct(t))
		if i, ok := live[t.Format]; ok {
			l := f.Live.ByFormat[i]
			v += fmt.Sprintf(" (live %s, %d wrong)", pct(l), l.Wrong)
		}
		add(name, "  "+t.Format, v, "0 wrong", verdict(t.Wrong == 0))
	}
	m := f.Mirror
	add(name, "precision (crm.directory: mirror)", fmt.Sprintf("%.2f%% (%d right, %d wrong records)", 100*m.Precision, m.Total.Right, m.Total.Wrong),
		fmt.Sprintf("%.0f%%", 100*targetFidelityPrecision), verdict(m.Total.Right > 0 && m.Precision >= targetFidelityPrecision))
	add(name, "recall over the eligible (crm.directory: mirror)", fmt.Sprintf("%.2f%% (%d of %d)", 100*m.Recall, m.Total.EligibleRight, m.Total.Eligible),
		fmt.Sprintf(">= %.1f%%", 100*targetFidelityRecall), verdict(m.Total.Eligible > 0 && m.Recall >= targetFidelityRecall))
	add(name, "CRM requests: directory load / lookups while matching", fmt.Sprintf("%d / %d", m.LoadRequests, m.LookupRequests), "", "")
	l := f.Live
	add(name, "crm.directory: live: precision / recall", fmt.Sprintf("%.2f%% / %.2f%% (%d of %d, %d wrong records)", 100*l.Precision, 100*l.Recall, l.Total.EligibleRight, l.Total.Eligible, l.Total.Wrong), "", "")
	add(name, "crm.directory: live: CRM lookups while matching", fmt.Sprintf("%d", l.LookupRequests), "", "")
}
