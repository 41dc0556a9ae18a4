package enreachtest

import (
	"net/http"

	"github.com/callsync/callsync/internal/double"
)

// Fault answers the next Times requests that Method and Path select (Path
// normalised, e.g. "/calls", or a prefix ending in "*"; "" any) with
// Status, before the double looks at the credentials.
type Fault = double.Fault

// Fail queues f behind the faults already queued. The body is the error
// object {"Message": ...} the double answers every error with: 429 "Rate
// limit exceeded, retry later", 401 the Basic challenge and "Authorization
// has been denied for this request.", 5xx "An error has occurred.", else
// the status text.
func (s *Server) Fail(f Fault) { s.faults.Add(f) }

func writeFault(w http.ResponseWriter, f Fault) {
	if f.RetryAfter > 0 {
		double.SetRetryAfter(w.Header(), f.RetryAfter)
	}
	msg := http.StatusText(f.Status)
	switch {
	case f.Status == http.StatusTooManyRequests:
		msg = "Rate limit exceeded, retry later"
	case f.Status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="BeneAPI"`)
		msg = "Authorization has been denied for this request."
	case f.Status >= 500:
		msg = "An error has occurred."
	}
	writeError(w, f.Status, msg)
}
