package enreachtest

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/callsync/callsync/enreach"
)

// A server's /calls and /servicecall answers, written into buffers of the
// answers before them (listBuf), are those of a new server asked once:
// listings of many, few and no records one after the other, with a raw
// element.
func TestListingsAsFromNewBuffers(t *testing.T) {
	u := enreach.User{ID: NewID(), UserName: "a@x.example", WorkNumber: "+358401000001"}
	q := enreach.Queue{ID: NewID(), Name: "Sales"}
	var calls []enreach.Call
	var service []enreach.ServiceCall
	for i := range 300 {
		at := day.Add(time.Duration(i) * time.Minute)
		calls = append(calls, DirectCall(u, "+358501234567", i%2 == 0, at, time.Second, time.Minute))
		sc, _ := QueueCall(q, &u, "+358501234568", at, time.Second, time.Minute)
		service = append(service, sc)
	}
	fill := func(s *Server) {
		s.AddCalls(calls...)
		s.AddServiceCalls(service...)
		s.AddRaw("/calls", json.RawMessage(`{"CallId":"raw","Extra":[1,2]}`))
	}
	used := NewServer()
	defer used.Close()
	fill(used)
	for _, path := range []string{"/calls", "/servicecall"} {
		for _, w := range [][2]time.Duration{{0, 5 * time.Hour}, {0, 3 * time.Minute}, {time.Hour, 3 * time.Hour}, {10 * time.Hour, 11 * time.Hour}, {0, 5 * time.Hour}} {
			window := startWindow(day.Add(w[0]), day.Add(w[1]))
			status, got := get(t, used, path, window)
			fresh := NewServer()
			fill(fresh)
			wantStatus, want := get(t, fresh, path, window)
			fresh.Close()
			if status != http.StatusOK || status != wantStatus || got != want {
				t.Fatalf("%s %v: %d, %d bytes; a new server %d, %d bytes\n got %.300s\nwant %.300s", path, w, status, len(got), wantStatus, len(want), got, want)
			}
		}
	}
}
