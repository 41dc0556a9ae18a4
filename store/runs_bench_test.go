//go:build unix

package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/callsync/callsync/internal/cputime"
	"github.com/callsync/callsync/store"
)

// BenchmarkRunEnd is a steady calls run's records on SQLite: its start,
// then its end with the stream's watermark moved, together (FinishRun with
// Run.Stream: one transaction) and apart (SetWatermark, then FinishRun: two
// commits, as before), as process CPU per run (cpu-us/op, the fsyncs'
// system time included; `go test -bench RunEnd -benchtime 2000x ./store`).
func BenchmarkRunEnd(b *testing.B) {
	for _, together := range []bool{true, false} {
		name := map[bool]string{true: "together", false: "apart"}[together]
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			s := benchStore(ctx, b)
			at := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC)
			n, c0 := 0, cputime.Self()
			for b.Loop() {
				pos := at.Add(time.Duration(n) * time.Minute)
				id, err := s.StartRun(ctx, "bench", "calls", pos)
				if err != nil {
					b.Fatal(err)
				}
				r := store.Run{ID: id, Tenant: "bench", FinishedAt: pos, Status: "ok", Seen: 3, Written: 3}
				if together {
					r.Stream, r.Position = "calls", pos
				} else if err := s.SetWatermark(ctx, "bench", "calls", pos); err != nil {
					b.Fatal(err)
				}
				if err := s.FinishRun(ctx, r); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(cputime.Self()-c0)/float64(n)/1e3, "cpu-us/op")
		})
	}
}

// BenchmarkWatermarkRead is a calls run's first read, its stream's
// watermark, with a context that can end as a job's does, as process CPU
// per read (cpu-us/op; `go test -run '^$' -bench WatermarkRead
// -benchtime 20000x ./store`).
func BenchmarkWatermarkRead(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := benchStore(ctx, b)
	at := time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)
	if err := s.SetWatermark(ctx, "bench", "calls", at); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n, c0 := 0, cputime.Self()
	for b.Loop() {
		if wm, ok, err := s.Watermark(ctx, "bench", "calls"); err != nil || !ok || !wm.Equal(at) {
			b.Fatalf("watermark %s %v %v", wm, ok, err)
		}
		n++
	}
	b.ReportMetric(float64(cputime.Self()-c0)/float64(n)/1e3, "cpu-us/op")
}
