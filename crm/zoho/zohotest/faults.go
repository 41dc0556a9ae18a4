package zohotest

import (
	"net/http"

	"github.com/callsync/callsync/internal/double"
)

// Fault answers the next Times API requests that Method and Path select
// (Path as sent, e.g. "/crm/v8/Calls", or a prefix ending in "*") with
// Status, before the double looks at the token or the body.
type Fault = double.Fault

// Fail queues f behind the faults already queued. The body is Zoho's error
// object {"code","details","message","status":"error"} (the error examples
// of the v8 API in zoho/crm-oas): 429 TOO_MANY_REQUESTS (Zoho documents no
// Retry-After; the double sends one only when f.RetryAfter > 0), 401
// INVALID_TOKEN, anything else INTERNAL_ERROR. Per-record errors inside a
// 207 answer are FailRecords'.
func (s *Server) Fail(f Fault) { s.faults.Add(f) }

func (s *Server) writeFault(w http.ResponseWriter, f Fault) int {
	if f.RetryAfter > 0 {
		double.SetRetryAfter(w.Header(), f.RetryAfter)
	}
	switch f.Status {
	case http.StatusTooManyRequests:
		return s.fail(w, &apiError{status: f.Status, code: "TOO_MANY_REQUESTS",
			message: "There are too many requests. Please try again after some time."})
	case http.StatusUnauthorized:
		return s.fail(w, &apiError{status: f.Status, code: "INVALID_TOKEN", message: "invalid oauth token"})
	}
	return s.fail(w, &apiError{status: f.Status, code: "INTERNAL_ERROR", message: "Internal Server Error"})
}
