package jobs

import (
	"time"

	"github.com/callsync/callsync/internal/jsonw"
)

// callPayload is the call's ledger payload: json.Marshal(c), byte for byte
// (field order and omitempty as Call's tags say, times as time.Time's
// MarshalJSON writes them, each raw record compacted and HTML-escaped as
// Marshal writes a json.RawMessage), appended without reflection: it is
// built once for every call a pass writes or leaves unresolved.
func callPayload(c Call) ([]byte, error) {
	// The names, punctuation and times take under 320 bytes; text escaped
	// by AppendString may grow past the estimate (append then grows b).
	n := 320 + len(c.ID) + len(c.ANum) + len(c.BNum) + len(c.UserID) + len(c.UserName) +
		len(c.QueueID) + len(c.QueueName) + len(c.QueueNumber) + len(c.Privacy)
	for _, r := range c.Recordings {
		n += len(r) + 3
	}
	for _, r := range c.Raw {
		n += len(r) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, `{"id":`...)
	b = jsonw.AppendString(b, c.ID)
	if c.Queue {
		b = append(b, `,"queue":true`...)
	}
	if c.Outbound {
		b = append(b, `,"outbound":true`...)
	}
	if c.Answered {
		b = append(b, `,"answered":true`...)
	}
	b = append(b, `,"anum":`...)
	b = jsonw.AppendString(b, c.ANum)
	b = append(b, `,"bnum":`...)
	b = jsonw.AppendString(b, c.BNum)
	b = optString(b, `,"user_id":`, c.UserID)
	b = optString(b, `,"user_name":`, c.UserName)
	b = optString(b, `,"queue_id":`, c.QueueID)
	b = optString(b, `,"queue_name":`, c.QueueName)
	b = optString(b, `,"queue_number":`, c.QueueNumber)
	var err error
	b = append(b, `,"start":`...)
	if b, err = appendTime(b, c.Start); err != nil {
		return nil, err
	}
	b = append(b, `,"end":`...)
	if b, err = appendTime(b, c.End); err != nil {
		return nil, err
	}
	b = append(b, `,"duration":`...)
	b = jsonw.AppendInt(b, c.Duration)
	b = optString(b, `,"privacy":`, c.Privacy)
	if len(c.Recordings) > 0 {
		b = append(b, `,"recordings":[`...)
		for i, r := range c.Recordings {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonw.AppendString(b, r)
		}
		b = append(b, ']')
	}
	if len(c.Raw) > 0 {
		b = append(b, `,"raw":[`...)
		for i, r := range c.Raw {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = jsonw.AppendRaw(b, r); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	}
	return append(b, '}'), nil
}

// optString appends name and s when s is not empty (omitempty).
func optString(b []byte, name, s string) []byte {
	if s == "" {
		return b
	}
	return jsonw.AppendString(append(b, name...), s)
}

// appendTime appends t as time.Time's MarshalJSON writes it (RFC 3339 with
// nanoseconds, quoted; an error for a year outside 0-9999).
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}
