package salesforcetest

import (
	"net/http"

	"github.com/callsync/callsync/internal/double"
)

// Fault answers the next Times requests that Method and Path select (Path
// as sent, e.g. "/services/data/v62.0/query", or a prefix ending in "*")
// with Status, before the double looks at the session or the body; a
// faulted request does not count against the daily API limit.
type Fault = double.Fault

// Fail queues f behind the faults already queued. The body is Salesforce's
// error array [{"message","errorCode"}]
// (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm):
// 401 INVALID_SESSION_ID, 403 REQUEST_LIMIT_EXCEEDED, 503
// SERVER_UNAVAILABLE, anything else UNKNOWN_EXCEPTION.
func (s *Server) Fail(f Fault) { s.faults.Add(f) }

func writeFault(w http.ResponseWriter, f Fault) {
	if f.RetryAfter > 0 {
		double.SetRetryAfter(w.Header(), f.RetryAfter)
	}
	code, msg := "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId if you contact support: 0000000000-00000 (injected)"
	switch f.Status {
	case http.StatusUnauthorized:
		code, msg = "INVALID_SESSION_ID", "Session expired or invalid"
	case http.StatusForbidden:
		code, msg = "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."
	case http.StatusServiceUnavailable:
		code, msg = "SERVER_UNAVAILABLE", "Server temporarily unavailable (injected)"
	}
	writeJSON(w, f.Status, errArray(code, msg))
}
