package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/store"
)

// Sources of quarantined records: the Enreach list a record was read from.
// Callback requests are quarantined under their profile's stream,
// StreamCallbacks(profile).
const (
	SourceCalls        = "calls"       // GET /calls (user call events)
	SourceServiceCalls = "servicecall" // GET /servicecall (queue calls)
)

// QuarantineStore changes quarantined records; *store.Store implements it.
type QuarantineStore interface {
	DeleteQuarantine(ctx context.Context, tenant string, id int64) error
	SetQuarantineReason(ctx context.Context, tenant string, id int64, reason string) error
}

// Redrive is what re-driving quarantined records did.
type Redrive struct {
	// Released counts records that decoded and whose call or callback
	// request is now in the ledger: they left the quarantine (a dry run
	// counts those that would).
	Released int
	// Still counts the records still quarantined, by reason.
	Still map[string]int
	// CallIDs are the calls (lower-case ids) the records belonged to,
	// processed with every record of them known (ledger payload too).
	CallIDs map[string]bool
}

// StillTotal is how many records stay quarantined.
func (r Redrive) StillTotal() int {
	n := 0
	for _, v := range r.Still {
		n += v
	}
	return n
}

// RedriveQuarantined decodes quarantined records again with the decoders
// the poller uses for their source (after an upgrade, a fix, or when the
// cause was passing), turns those that decode into calls (Merge, with the
// stored payload of a call the ledger holds but has not written, so a call
// is decided once with all its records) or callback requests, and processes
// them as the poller would (ProcessCalls, ProcessCallbacks). A record leaves
// the quarantine only once its item is in the ledger; one that still does
// not decode stays, with the reason of this attempt. A dry run decides and
// reports, and writes, deletes and updates nothing. Repeating it is safe:
// the ledger keys keep anything from being written twice.
func (s *Syncer) RedriveQuarantined(ctx context.Context, t *Tenant, qs QuarantineStore, recs []store.QuarantineRecord, o SyncOptions) (Summary, Redrive, error) {
	sum := Summary{Skipped: map[string]int{}}
	res := Redrive{Still: map[string]int{}, CallIDs: map[string]bool{}}
	cfg := t.Config()
	var (
		legs    []enreach.Call
		scs     []enreach.ServiceCall
		callRec = map[string][]store.QuarantineRecord{}
		cbs     = map[string][]enreach.Callback{}
		cbRec   = map[string]map[string][]store.QuarantineRecord{}
		errs    []error
	)
	stay := func(r store.QuarantineRecord, reason string) {
		res.Still[reason]++
		if o.DryRun || sameReason(reason, r.Reason) {
			return
		}
		if err := qs.SetQuarantineReason(ctx, t.Name, r.ID, reason); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range recs {
		raw := []json.RawMessage{r.Raw}
		switch {
		case r.Source == SourceCalls:
			got, bad := enreach.DecodeCalls(raw)
			if len(bad) > 0 {
				stay(r, bad[0].Reason)
				continue
			}
			legs = append(legs, got...)
			k := strings.ToLower(got[0].CallID)
			callRec[k] = append(callRec[k], r)
		case r.Source == SourceServiceCalls:
			got, bad := enreach.DecodeServiceCalls(raw)
			if len(bad) > 0 {
				stay(r, bad[0].Reason)
				continue
			}
			scs = append(scs, got...)
			k := strings.ToLower(got[0].CallID)
			callRec[k] = append(callRec[k], r)
		case strings.HasPrefix(r.Source, StreamCallbacks("")):
			name := strings.TrimPrefix(r.Source, StreamCallbacks(""))
			if p, ok := cfg.Profile(name); !ok || !p.Active {
				// The record may be fine: it waits for its profile.
				res.Still[fmt.Sprintf("callback profile %q is not active", name)]++
				continue
			}
			got, bad := enreach.DecodeCallbacks(raw)
			if len(bad) > 0 {
				stay(r, bad[0].Reason)
				continue
			}
			k := strings.ToLower(got[0].ID)
			cbs[name] = append(cbs[name], got...)
			if cbRec[name] == nil {
				cbRec[name] = map[string][]store.QuarantineRecord{}
			}
			cbRec[name][k] = append(cbRec[name][k], r)
		default:
			res.Still[r.Reason]++
		}
	}

	if len(callRec) > 0 {
		ids := make([]string, 0, len(callRec))
		for k := range callRec {
			ids = append(ids, k)
			res.CallIDs[k] = true
		}
		slices.Sort(ids)
		prev, err := s.Store.Ledger(ctx, t.Name, KindCall, ids)
		if err != nil {
			return sum, res, errors.Join(append(errs, err)...)
		}
		// Ledger answers without payloads; the states that keep one are
		// read with theirs.
		states := map[store.LedgerState]bool{}
		for _, e := range prev {
			states[e.State] = true
		}
		for _, st := range []store.LedgerState{store.Pending, store.Failed, store.Unresolved} {
			if !states[st] {
				continue
			}
			rows, err := s.Store.LedgerByState(ctx, t.Name, KindCall, st, math.MaxInt32, math.MaxInt32)
			if err != nil {
				return sum, res, errors.Join(append(errs, err)...)
			}
			for _, e := range rows {
				var c Call
				if len(callRec[strings.ToLower(e.EnreachID)]) == 0 || json.Unmarshal(e.Payload, &c) != nil {
					continue
				}
				l, sc := c.records()
				legs, scs = append(legs, l...), append(scs, sc...)
			}
		}
		got, err := s.ProcessCalls(ctx, t, Merge(uniqueLegs(legs), scs), o)
		sum.Add(got)
		if err != nil {
			return sum, res, errors.Join(append(errs, err)...)
		}
		if err := s.release(ctx, t, qs, KindCall, callRec, o, &res); err != nil {
			errs = append(errs, err)
		}
	}

	names := make([]string, 0, len(cbs))
	for n := range cbs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		p, _ := cfg.Profile(name)
		got, err := s.ProcessCallbacks(ctx, t, *p, cbs[name], o)
		sum.Add(got)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.release(ctx, t, qs, KindCallback, cbRec[name], o, &res); err != nil {
			errs = append(errs, err)
		}
	}
	return sum, res, errors.Join(errs...)
}

// release deletes the quarantined records whose item (keyed by lower-case
// Enreach id) is now in the ledger; the others stay with their reason.
func (s *Syncer) release(ctx context.Context, t *Tenant, qs QuarantineStore, kind string, recs map[string][]store.QuarantineRecord, o SyncOptions, res *Redrive) error {
	if o.DryRun {
		for _, rs := range recs {
			res.Released += len(rs)
		}
		return nil
	}
	ids := make([]string, 0, len(recs))
	for k := range recs {
		ids = append(ids, k)
	}
	slices.Sort(ids)
	in, err := s.Store.Ledger(ctx, t.Name, kind, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		for _, r := range recs[id] {
			if _, ok := in[id]; !ok {
				res.Still[r.Reason]++
				continue
			}
			if err := qs.DeleteQuarantine(ctx, t.Name, r.ID); err != nil {
				return err
			}
			res.Released++
		}
	}
	return nil
}

// records decodes the Enreach records a stored call was merged from back
// into user call events and service calls (Merge keeps a queue call's
// service call first in Raw, then the user call events).
func (c Call) records() ([]enreach.Call, []enreach.ServiceCall) {
	raws := c.Raw
	var scs []enreach.ServiceCall
	if c.Queue && len(raws) > 0 {
		scs, _ = enreach.DecodeServiceCalls(raws[:1])
		raws = raws[1:]
	}
	legs, _ := enreach.DecodeCalls(raws)
	return legs, scs
}

// uniqueLegs drops repeated user call events (the same raw record from the
// quarantine and from a stored payload).
func uniqueLegs(legs []enreach.Call) []enreach.Call {
	seen := map[string]bool{}
	out := make([]enreach.Call, 0, len(legs))
	for _, l := range legs {
		if k := string(l.Raw); !seen[k] {
			seen[k] = true
			out = append(out, l)
		}
	}
	return out
}

// elementPrefix is the position decodeAll puts before the reason of a
// record that is not a JSON object: it changes with the list, not the record.
var elementPrefix = regexp.MustCompile(`^element \d+: `)

// sameReason reports whether two quarantine reasons say the same thing.
func sameReason(a, b string) bool {
	return elementPrefix.ReplaceAllString(a, "") == elementPrefix.ReplaceAllString(b, "")
}
