package enreach

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
)

// BenchmarkDecodeCalls is the per-call cost of reading a page of 1,000
// calls from GET /calls (`go test -bench DecodeCalls ./enreach`).
func BenchmarkDecodeCalls(b *testing.B) {
	raws := make([]json.RawMessage, 1000)
	for i := range raws {
		raws[i] = json.RawMessage(fmt.Sprintf(`{"CallId":"0f6b2c1e-9f7a-4f6e-8d52-%012d","UserId":"6f1c1d7e-3b0a-4b8e-9a51-1f0d7c2e9a01","UserName":"alice@contoso.example",`+
			`"Direction":0,"ANum":"+358401234567","BNum":"+358201000100","StartTime":"2026-01-10 10:00:00","AnswerTime":"2026-01-10 10:00:05",`+
			`"EndTime":"2026-01-10 10:02:00","Duration":115,"EndResult":3,"Privacy":"None","QueueId":"q1","QueueName":"Support","RecordingIds":["r1"],"Modified":"2026-01-10 10:02:01"}`, i))
	}
	b.ReportAllocs()
	for b.Loop() {
		calls, bad := decodeAll(raws, decodeCall)
		if len(calls) != len(raws) || len(bad) != 0 {
			b.Fatal(len(calls), bad)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(raws)), "ns/call")
}

// BenchmarkDecodeArray is the per-call cost of splitting a GET /calls
// answer of 1,000 calls into its elements (`go test -bench DecodeArray
// ./enreach`).
func BenchmarkDecodeArray(b *testing.B) {
	var body bytes.Buffer
	body.WriteByte('[')
	for i := range 1000 {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"CallId":"0f6b2c1e-9f7a-4f6e-8d52-%012d","UserId":"6f1c1d7e-3b0a-4b8e-9a51-1f0d7c2e9a01","UserName":"alice@contoso.example",`+
			`"Direction":0,"ANum":"+358401234567","BNum":"+358201000100","StartTime":"2026-01-10 10:00:00","AnswerTime":"2026-01-10 10:00:05",`+
			`"EndTime":"2026-01-10 10:02:00","Duration":115,"EndResult":3,"Privacy":"None","QueueId":"q1","QueueName":"Support","RecordingIds":["r1"],"Modified":"2026-01-10 10:02:01"}`, i)
	}
	body.WriteByte(']')
	raw := body.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if raws, err := decodeArray(bytes.NewReader(raw)); err != nil || len(raws) != 1000 {
			b.Fatal(err, len(raws))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/call")
}
