package zoho

import (
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
)

// callDescriptionByReplacer is callDescription as it was before it wrote
// the description once into a buffer of its length: a strings.Replacer made
// per call for the queue name and replay link, the added lines in a
// builder of their own, then joined to the head. The reference of
// TestCallDescriptionAsReplacer and FuzzCallDescription.
func callDescriptionByReplacer(a crm.Activity) string {
	oneLine := strings.NewReplacer("\r", " ", "\n", " ")
	var tail strings.Builder
	if a.QueueName != "" {
		tail.WriteString(lineQueue + oneLine.Replace(a.QueueName) + "\n")
	}
	if a.Kind == crm.KindCallback {
		if !a.Start.IsZero() {
			tail.WriteString(lineRequested + formatTime(a.Start) + "\n")
		}
	} else {
		tail.WriteString(lineMediaType + defaultMediaType + "\n")
		if a.RecordingLink != "" {
			tail.WriteString(lineReplay + oneLine.Replace(a.RecordingLink) + "\n")
		}
		if a.Open {
			tail.WriteString(lineOpen + "\n")
		}
	}
	tail.WriteString(marker(a))
	head := a.Description
	if strings.TrimSpace(head) == "" {
		return tail.String()
	}
	if room := maxDescriptionLen - tail.Len() - len(descriptionSeparator); len(head) > room {
		head = truncateBytes(head, room)
	}
	return head + descriptionSeparator + tail.String()
}

// callDescription writes what the replacer and the joins wrote: every
// activity of callActivities, and descriptions blank, at and past the
// length limit (cut inside a character), queue names and replay links
// with CR, LF and CRLF, callbacks with and without a start.
func TestCallDescriptionAsReplacer(t *testing.T) {
	acts := callActivities()
	base := acts[0]
	add := func(f func(a *crm.Activity)) {
		a := base
		f(&a)
		acts = append(acts, a)
	}
	add(func(a *crm.Activity) { a.Description = " \t\n" })
	add(func(a *crm.Activity) { a.Description = strings.Repeat("x", maxDescriptionLen) })
	add(func(a *crm.Activity) { a.Description = strings.Repeat("ä", maxDescriptionLen) })
	add(func(a *crm.Activity) { a.Description = strings.Repeat("y", maxDescriptionLen-100) })
	add(func(a *crm.Activity) { a.QueueName, a.RecordingLink = "\r\nQ\rR\n", "\n\r" })
	add(func(a *crm.Activity) { a.QueueName, a.RecordingLink, a.Open = "", "l\r\n", true })
	add(func(a *crm.Activity) { a.Kind, a.QueueName, a.RecordingLink = crm.KindCallback, "Q\n", "ignored\n" })
	add(func(a *crm.Activity) { a.Kind, a.Start = crm.KindCallback, time.Time{} })
	add(func(a *crm.Activity) { a.EnreachID = "" })
	for i, a := range acts {
		if got, want := callDescription(a), callDescriptionByReplacer(a); got != want {
			t.Errorf("activity %d: callDescription = %q\nwant %q", i, truncateBytes(got, 300), truncateBytes(want, 300))
		}
	}
}

// callDescription writes what the replacer and the joins wrote for any
// description, queue name, replay link, ids and kind.
func FuzzCallDescription(f *testing.F) {
	f.Add("CallId is 1\nanswered", "Support", "", "0f6b2c1e", "t/call/1", uint8(0), uint16(0))
	f.Add(" ", "Q\r\nq", "https://r/1\r", "", "k", uint8(7), uint16(31990))
	f.Add("\xff\xfe", "\n", "\r", "é", "", uint8(5), uint16(32000))
	start := time.Date(2026, 3, 1, 23, 30, 0, 500e6, time.UTC)
	f.Fuzz(func(t *testing.T, desc, queue, rec, enreachID, key string, flags uint8, pad uint16) {
		if pad%32768 > 0 {
			desc = strings.Repeat("d", int(pad%32768)) + desc
		}
		a := crm.Activity{Key: key, Kind: crm.KindCall, EnreachID: enreachID, Description: desc, QueueName: queue,
			RecordingLink: rec, Start: start, Open: flags&2 != 0}
		if flags&1 != 0 {
			a.Kind = crm.KindCallback
		}
		if flags&4 != 0 {
			a.Start = time.Time{}
		}
		if got, want := callDescription(a), callDescriptionByReplacer(a); got != want {
			t.Errorf("callDescription(%+v) = %q\nwant %q", a, truncateBytes(got, 300), truncateBytes(want, 300))
		}
	})
}

// BenchmarkCallDescription is a queue call's Calls Description (`go test
// -bench CallDescription -benchmem ./crm/zoho`); replacer is the former
// one.
func BenchmarkCallDescription(b *testing.B) {
	a := callActivities()[0]
	a.RecordingLink = "https://rec.example/1"
	b.Run("replacer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			callDescriptionByReplacer(a)
		}
	})
	b.Run("buffer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			callDescription(a)
		}
	})
}
