package crm

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// Request is one HTTP request a CRM client sent (each attempt: retries and
// token requests included), as its RequestHook is told.
type Request struct {
	// CRM is the client's CRM type: "dynamics", "salesforce" or "zoho".
	CRM string
	// Operation is what the client was doing ("lookup", "write", ...), ""
	// when it did not say (WithOperation).
	Operation string
	// Status is the HTTP status of the answer, 0 when none came.
	Status int
	// Quota is the API quota the answer reported, if it did.
	Quota Quota
}

// Quota is an API allowance as a CRM's answer reports it.
type Quota struct {
	// Known is false when the answer carried no quota header.
	Known bool
	// Remaining is what is left of the allowance.
	Remaining int64
	// Limit is the allowance, 0 when the answer does not say.
	Limit int64
}

// RequestHook is told about every HTTP request a CRM client sends, from the
// goroutine that sent it: it must be quick and safe for concurrent use. The
// tenant is the one whose client it was given to.
type RequestHook func(Request)

// QuotaReader reads the quota a CRM reports in the headers of an answer.
type QuotaReader func(http.Header) Quota

type operationKey struct{}

// WithOperation names the operation of the requests sent with ctx, for the
// RequestHook.
func WithOperation(ctx context.Context, op string) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// WithPathOperation names a request for the RequestHook when its ctx names none
// (WithOperation): the HTTP method and the resource path without ids or
// query, e.g. "GET query", "POST composite/sobjects", "PUT Calls",
// "GET Contacts/search". A path segment with a digit is taken for an id
// (Salesforce and Zoho record ids are digits, or letters and digits).
func WithPathOperation(ctx context.Context, method, path string) context.Context {
	if op, _ := ctx.Value(operationKey{}).(string); op != "" {
		return ctx
	}
	path, _, _ = strings.Cut(path, "?")
	var names []string
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		if seg == "" || strings.ContainsAny(seg, "0123456789") {
			continue
		}
		if u, err := url.PathUnescape(seg); err == nil {
			seg = u
		}
		names = append(names, seg)
	}
	return WithOperation(ctx, strings.TrimSpace(method+" "+strings.Join(names, "/")))
}

// RequestTransport returns base wrapped so that hook (when not nil) is told
// about each request sent through it, with the quota read by quota (nil: the
// CRM reports none). Clients wrap the transport every request of theirs
// goes through, below retries, so each attempt is told.
func RequestTransport(base http.RoundTripper, crmType string, hook RequestHook, quota QuotaReader) http.RoundTripper {
	if hook == nil {
		return base
	}
	return &requestTransport{base: base, crm: crmType, hook: hook, quota: quota}
}

type requestTransport struct {
	base  http.RoundTripper
	crm   string
	hook  RequestHook
	quota QuotaReader
}

func (t *requestTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	r := Request{CRM: t.crm}
	r.Operation, _ = req.Context().Value(operationKey{}).(string)
	if resp != nil {
		r.Status = resp.StatusCode
		if t.quota != nil {
			r.Quota = t.quota(resp.Header)
		}
	}
	t.hook(r)
	return resp, err
}
