package dynamicstest

import (
	"net/http"
	"strconv"

	"github.com/callsync/callsync/internal/double"
)

// Fault answers the next Times Web API requests that Method and Path
// select (Path as sent, e.g. APIPath+"/$batch", or a prefix ending in "*")
// with Status, before the double looks at the token or the body.
type Fault = double.Fault

// BurstLimit is the requests a user may send per five-minute service
// protection window (https://learn.microsoft.com/power-apps/developer/data-platform/api-limits).
const BurstLimit = 6000

// Fail queues f behind the faults already queued. The body is Dataverse's
// OData error for the status: 429 is the service protection answer, with
// Retry-After (0 when f.RetryAfter is 0) and no burst requests remaining
// (https://learn.microsoft.com/power-apps/developer/data-platform/api-limits#retry-operations);
// 401 the bearer challenge with an empty body; anything else the generic
// 0x80040216 "An unexpected error occurred.".
func (s *Server) Fail(f Fault) { s.faults.Add(f) }

func (s *Server) writeFault(w http.ResponseWriter, f Fault) {
	switch f.Status {
	case http.StatusTooManyRequests:
		double.SetRetryAfter(w.Header(), f.RetryAfter)
		w.Header().Set("x-ms-ratelimit-burst-remaining-xrm-requests", "0")
		writeJSON(w, f.Status, errBody("0x80072322", "Number of requests exceeded the limit of "+strconv.Itoa(BurstLimit)+" over time window of 300 seconds."))
		return
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token expired"`)
		w.WriteHeader(f.Status)
		return
	}
	if f.RetryAfter > 0 {
		double.SetRetryAfter(w.Header(), f.RetryAfter)
	}
	writeJSON(w, f.Status, errBody("0x80040216", "An unexpected error occurred."))
}
