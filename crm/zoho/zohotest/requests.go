package zohotest

import "github.com/callsync/callsync/internal/double"

// Request is one request the double served.
type Request struct {
	double.Request
	// COQL is the select_query of a /coql request.
	COQL string
	// Records is the number of records sent in a data[] body.
	Records int
}

// Requests is the number of HTTP requests served: API domain and token
// endpoint, refused and faulted ones included.
func (s *Server) Requests() int { return s.rec.Requests() }

// APIRequests is the number of requests to the API domain (token requests
// excluded; refused and faulted ones included).
func (s *Server) APIRequests() int { return s.rec.APIRequests() }

// TokenRequests is the number of requests to the accounts server.
func (s *Server) TokenRequests() int { return s.rec.TokenRequests() }

// RequestsTo is the number of API requests with method ("" any) to path
// (exact, or a prefix when it ends in "*"; "" any).
func (s *Server) RequestsTo(method, path string) int { return s.rec.RequestsTo(method, path) }

// Log returns the API requests served, in order (token requests are
// counted, not logged).
func (s *Server) Log() []Request { return s.rec.Log() }

// ResetLog clears the log and every request counter (data stays).
func (s *Server) ResetLog() { s.rec.ResetLog() }
