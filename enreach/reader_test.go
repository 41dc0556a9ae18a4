package enreach

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	base := time.Date(2026, 3, 29, 1, 30, 15, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
	}{
		{"2026-03-29 01:30:15", base},
		{"2026-03-29T01:30:15", base},
		{"2026-03-29T01:30:15Z", base},
		{"2026-03-29 01:30:15Z", base},
		{" 2026-03-29 01:30:15 ", base},
		{"2026-03-29T01:30:15.25", base.Add(250 * time.Millisecond)},
		{"2026-03-29T01:30:15.1234567Z", base.Add(123456700)},
		{"2026-03-29T04:30:15+03:00", base},
		{"2026-03-29 04:30:15+0300", base},
		{"2026-03-28T23:30:15.5-02:00", base.Add(500 * time.Millisecond)},
		{"/Date(1774747815000)/", base},
		{"/Date(1774747815000+0300)/", base},
	}
	for _, c := range cases {
		got, err := ParseTime(c.in)
		if err != nil {
			t.Errorf("ParseTime(%q): %v", c.in, err)
			continue
		}
		if !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, want %v UTC", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"", "2026-03-29", "29.03.2026 01:30:15", "2026-13-01 00:00:00", "2026-03-29 01:30", "/Date(x)/", "yesterday"} {
		if got, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) = %v, want error", bad, got)
		}
	}
}

func TestSplitWindow(t *testing.T) {
	d := func(days int) time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, days) }
	cases := []struct {
		from, to time.Time
		want     int
	}{
		{d(0), d(1), 1},
		{d(0), d(31), 1},
		{d(0), d(31).Add(time.Second), 2},
		{d(0), d(62), 2},
		{d(0), d(63), 3},
		{d(0), d(365), 12},
		{d(0), d(0), 0},
	}
	for _, c := range cases {
		got, err := splitWindow(Window{From: c.from, To: c.to, ByModified: true}, MaxWindow)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.want {
			t.Errorf("%v..%v: %d chunks, want %d", c.from, c.to, len(got), c.want)
			continue
		}
		// Chunks tile the window exactly, each at most 31 days.
		at := c.from
		for _, w := range got {
			if !w.From.Equal(at) || w.To.Sub(w.From) > MaxWindow || !w.To.After(w.From) || !w.ByModified {
				t.Errorf("bad chunk %+v after %v", w, at)
			}
			at = w.To
		}
		if c.want > 0 && !at.Equal(c.to) {
			t.Errorf("chunks end at %v, want %v", at, c.to)
		}
	}
	// Non-UTC input is converted.
	hel := time.FixedZone("EET", 2*3600)
	got, err := splitWindow(Window{From: time.Date(2026, 1, 1, 2, 0, 0, 0, hel), To: time.Date(2026, 1, 2, 2, 0, 0, 0, hel)}, MaxWindow)
	if err != nil || len(got) != 1 || !got[0].From.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("zoned window: %+v %v", got, err)
	}
}

func TestWindowString(t *testing.T) {
	d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if s := windowString(Window{From: d, To: d.AddDate(0, 0, 1)}); s != "2026-01-01..2026-01-02" {
		t.Fatal(s)
	}
	if s := windowString(Window{From: d.Add(90 * time.Minute), To: d.Add(2 * time.Hour)}); s != "2026-01-01T01:30:00Z..2026-01-01T02:00:00Z" {
		t.Fatal(s)
	}
}
