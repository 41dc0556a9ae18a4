package enreachtest

import (
	"time"

	"github.com/callsync/callsync/internal/double"
)

// Request is one request the double served. Path is normalised (no
// trailing slash).
type Request struct {
	double.Request
	At time.Time
}

// Requests is the number of HTTP requests served, refused and faulted
// ones included. Enreach takes Basic auth on every request: there is no
// token endpoint, so it equals APIRequests.
func (s *Server) Requests() int { return s.rec.Requests() }

// APIRequests is the number of API requests served (discovery included).
func (s *Server) APIRequests() int { return s.rec.APIRequests() }

// TokenRequests is 0: Enreach has no token endpoint.
func (s *Server) TokenRequests() int { return s.rec.TokenRequests() }

// RequestsTo is the number of requests with method ("" any) to path
// (normalised; exact, or a prefix when it ends in "*"; "" any).
func (s *Server) RequestsTo(method, path string) int { return s.rec.RequestsTo(method, path) }

// Log returns every request served, in arrival order.
func (s *Server) Log() []Request { return s.rec.Log() }

// ResetLog clears the log and every request counter (data stays).
func (s *Server) ResetLog() { s.rec.ResetLog() }
