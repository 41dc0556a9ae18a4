package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/store"
)

// CallbackSource is what the callbacks job needs from the Enreach client
// beyond Enreach. *enreach.Client implements it.
type CallbackSource interface {
	Callbacks(ctx context.Context, listID string, w enreach.Window) ([]enreach.Callback, []enreach.Malformed, error)
}

// defaultCallbackAge is the polling window of a profile without an age
// (webhook profiles polled by hand).
const defaultCallbackAge = time.Hour

// RunCallbacks is one run of the callbacks job for a tenant (every minute):
// every active profile's failed writes and unconfirmed closes are retried,
// then each active profile whose sync_method polls reads the requests
// modified in the last `age` (at least back to its watermark, less Overlap).
// Profile settings are read at each run, so a config change applies at the
// next one.
func (s *Syncer) RunCallbacks(ctx context.Context, t *Tenant, o SyncOptions) (Summary, error) {
	return s.recordRun(ctx, t, "callbacks", func(ctx context.Context) (Summary, error) {
		var errs []error
		// Earlier failures first, then what is new.
		sum, err := s.RetryCallbacks(ctx, t, o)
		if err != nil {
			errs = append(errs, err)
		}
		cfg := t.Config()
		for _, p := range cfg.ActiveProfiles() {
			if !p.Polls() {
				continue
			}
			if stopped(o.Stop) {
				break
			}
			got, err := s.pollProfile(ctx, t, p, o)
			sum.Add(got)
			if err != nil {
				errs = append(errs, err)
			}
		}
		return sum, errors.Join(errs...)
	})
}

// SyncCallbacksOnce is `callsync sync callbacks`: one polling pass by hand
// for one profile, or for every active profile when profile is "" (webhook
// profiles too: a manual pass is how a gap is repaired). An inactive or
// unknown profile is an error.
func (s *Syncer) SyncCallbacksOnce(ctx context.Context, t *Tenant, profile string, o SyncOptions) (Summary, error) {
	cfg := t.Config()
	var ps []config.Profile
	if profile == "" {
		ps = cfg.ActiveProfiles()
	} else {
		p, ok := cfg.Profile(profile)
		if !ok {
			return Summary{}, fmt.Errorf("%s: no callback profile %q", t.Name, profile)
		}
		if !p.Active {
			return Summary{}, fmt.Errorf("%s: callback profile %q is not active", t.Name, profile)
		}
		ps = []config.Profile{*p}
	}
	job := "callbacks-manual"
	if o.DryRun {
		job = "callbacks-dry-run"
	}
	return s.recordRun(ctx, t, job, func(ctx context.Context) (Summary, error) {
		var sum Summary
		var errs []error
		for _, p := range ps {
			got, err := s.pollProfile(ctx, t, p, o)
			sum.Add(got)
			if err != nil {
				errs = append(errs, err)
			}
		}
		return sum, errors.Join(errs...)
	})
}

// pollProfile reads one profile's callback list from max(watermark -
// Overlap, now - age) to now, in chunks that each advance the watermark.
func (s *Syncer) pollProfile(ctx context.Context, t *Tenant, p config.Profile, o SyncOptions) (Summary, error) {
	var sum Summary
	src, ok := t.Enreach.(CallbackSource)
	if !ok {
		return sum, fmt.Errorf("callbacks %s: the Enreach client (%T) cannot read callback lists", p.Name, t.Enreach)
	}
	stream := StreamCallbacks(p.Name)
	now := s.now().Truncate(time.Second)
	age := p.Age.D()
	if age <= 0 {
		age = defaultCallbackAge
	}
	from := now.Add(-age)
	wm, ok, err := s.Store.Watermark(ctx, t.Name, stream)
	if err != nil {
		return sum, err
	}
	if ok {
		if b := wm.Add(-Overlap); b.Before(from) {
			from = b
		}
	}
	for start := from; start.Before(now); {
		if stopped(o.Stop) {
			break
		}
		end := start.Add(CatchUpChunk)
		if end.After(now) {
			end = now
		}
		cbs, bad, err := src.Callbacks(ctx, p.CallbackListID, enreach.Window{From: start, To: end, ByModified: true})
		if err != nil {
			return sum, fmt.Errorf("enreach callbacks %s: %w", p.Name, err)
		}
		if len(bad) > 0 && !o.DryRun {
			n, err := s.quarantine(ctx, t, stream, bad)
			sum.Quarantined += n
			if err != nil {
				return sum, err
			}
		}
		got, err := s.ProcessCallbacks(ctx, t, p, cbs, o)
		sum.Add(got)
		if err != nil {
			return sum, err
		}
		if !o.DryRun {
			if err := s.Store.SetWatermark(ctx, t.Name, stream, end); err != nil {
				return sum, err
			}
			s.Metrics.watermark(t.Name, stream, s.now().Sub(end))
		}
		start = end
	}
	return sum, nil
}

// RetryCallbacks re-processes callback requests whose write failed or was
// interrupted, from their stored payload, for the profiles that are still
// active, and retries unconfirmed closes.
func (s *Syncer) RetryCallbacks(ctx context.Context, t *Tenant, o SyncOptions) (Summary, error) {
	var sum Summary
	cst, err := s.callbackStore()
	if err != nil {
		return sum, err
	}
	cfg := t.Config()
	byProfile := map[string][]enreach.Callback{}
	for _, st := range []store.LedgerState{store.Failed, store.Pending} {
		rows, err := s.Store.LedgerByState(ctx, t.Name, KindCallback, st, MaxAttempts, 5000)
		if err != nil {
			return sum, err
		}
		for _, r := range rows {
			var pl callbackPayload
			if len(r.Payload) == 0 || json.Unmarshal(r.Payload, &pl) != nil || pl.Callback.ID == "" {
				continue
			}
			byProfile[pl.Profile] = append(byProfile[pl.Profile], pl.Callback)
		}
	}
	var errs []error
	names := make([]string, 0, len(byProfile))
	for n := range byProfile {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		p, ok := cfg.Profile(name)
		if !ok || !p.Active {
			continue // waits until the profile is active again
		}
		got, err := s.ProcessCallbacks(ctx, t, *p, byProfile[name], o)
		sum.Add(got)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if o.DryRun {
		return sum, errors.Join(errs...)
	}
	rows, err := cst.WrittenByReason(ctx, t.Name, KindCallback, store.CallbackClosePending, MaxAttempts, 5000)
	if err != nil {
		return sum, errors.Join(append(errs, err)...)
	}
	if len(rows) > 0 {
		cs := make([]closing, len(rows))
		for i, r := range rows {
			cs[i] = closing{id: r.EnreachID, key: r.Key, crmID: r.CRMID, number: r.Number, attempts: r.Attempts}
		}
		got := Summary{Skipped: map[string]int{}}
		if err := s.closeCallbacks(ctx, t, cst, cs, &got, map[string]Outcome{}); err != nil {
			errs = append(errs, err)
		}
		sum.Add(got)
	}
	return sum, errors.Join(errs...)
}
