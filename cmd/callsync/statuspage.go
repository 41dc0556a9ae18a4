package main

import (
	"net/http"
	"strconv"

	"github.com/callsync/callsync/statuspage"
)

// statusPage is the HTML status page, or nil when http.status_page is off
// and no http.status_token is set.
func (a *app) statusPage() http.Handler {
	if !a.cfg.HTTP.StatusPageOn() {
		return nil
	}
	return statuspage.New(statuspage.Options{
		Store: a.store,
		Tenants: func() []statuspage.Tenant {
			var out []statuspage.Tenant
			for _, t := range a.registry.All() {
				c := t.Config()
				out = append(out, statuspage.Tenant{Name: c.Name, CRM: c.CRM.Type})
			}
			return out
		},
		Token: a.cfg.HTTP.StatusToken.Value(),
		Flush: a.requests.Flush,
		Log:   a.log,
	})
}

// mountStatusPage serves the status page at / of mux (nothing when off).
// It is the one place that decides where the page lives.
func mountStatusPage(mux *http.ServeMux, page http.Handler) {
	if page != nil {
		mux.Handle("GET /{$}", page)
	}
}

// statusClass is the code label of callsync_crm_requests_total: 429 on its
// own, other answers by class, "none" when no answer came.
func statusClass(status int) string {
	switch {
	case status == 0:
		return "none"
	case status == http.StatusTooManyRequests:
		return "429"
	default:
		return strconv.Itoa(status/100) + "xx"
	}
}
