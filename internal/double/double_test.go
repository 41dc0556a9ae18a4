package double_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/crm/salesforce/salesforcetest"
	"github.com/callsync/callsync/crm/zoho/zohotest"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/internal/double"
)

// server is the API every double exposes with the same names and meaning.
type server interface {
	Requests() int
	APIRequests() int
	TokenRequests() int
	RequestsTo(method, path string) int
	ResetLog()
	Fail(double.Fault)
}

// harness drives one double over HTTP as a client would.
type harness struct {
	srv server
	// token makes one token request (none for a vendor without a token
	// endpoint) and returns what API requests need.
	token func(t *testing.T) string
	// get sends an authenticated API request.
	get func(t *testing.T, tok, path string) (int, http.Header, []byte)
	// a and b are two API paths both answering 200.
	a, b string
	// logged returns the Log of the double as Requests.
	logged func() []double.Request
	// errorShape checks the body is the vendor's error for status.
	errorShape func(t *testing.T, status int, body []byte)
}

func send(t *testing.T, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func postForm(t *testing.T, u string, form url.Values) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	status, _, body := send(t, req)
	var m struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &m); status != http.StatusOK || err != nil || m.AccessToken == "" {
		t.Fatalf("token: %d %s", status, body)
	}
	return m.AccessToken
}

func bearerGet(base string) func(t *testing.T, tok, path string) (int, http.Header, []byte) {
	return func(t *testing.T, tok, path string) (int, http.Header, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		return send(t, req)
	}
}

func logOf[R double.Entry](log func() []R) func() []double.Request {
	return func() []double.Request {
		var out []double.Request
		for _, r := range log() {
			out = append(out, r.Base())
		}
		return out
	}
}

func decode(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
}

func dynamics(t *testing.T) harness {
	srv := dynamicstest.NewServer(dynamicstest.Options{})
	t.Cleanup(srv.Close)
	cfg := srv.Config()
	return harness{
		srv: srv,
		token: func(t *testing.T) string {
			return postForm(t, srv.URL+"/"+cfg.TenantID+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"},
				"client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}, "scope": {srv.URL + "/.default"}})
		},
		get: bearerGet(srv.URL),
		a:   dynamicstest.APIPath + "/WhoAmI", b: dynamicstest.APIPath + "/contacts",
		logged: logOf(srv.Log),
		// Dataverse's OData error
		// (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/compose-http-requests-handle-errors#parse-errors-from-the-response).
		errorShape: func(t *testing.T, status int, body []byte) {
			var e struct {
				Error struct{ Code, Message string }
			}
			decode(t, body, &e)
			want := "0x80040216"
			if status == http.StatusTooManyRequests {
				want = "0x80072322"
			}
			if e.Error.Code != want || e.Error.Message == "" {
				t.Errorf("%d body %s, want the OData error %s", status, body, want)
			}
		},
	}
}

func enreach(t *testing.T) harness {
	srv := enreachtest.NewServer()
	t.Cleanup(srv.Close)
	return harness{
		srv:   srv,
		token: func(*testing.T) string { return "" }, // Basic auth on every request
		get: func(t *testing.T, _, path string) (int, http.Header, []byte) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			req.SetBasicAuth(srv.User, srv.Secret)
			req.Header.Set("Accept", "application/json")
			return send(t, req)
		},
		a: "/users", b: "/queues",
		logged: logOf(srv.Log),
		errorShape: func(t *testing.T, status int, body []byte) {
			var e struct{ Message string }
			decode(t, body, &e)
			if e.Message == "" {
				t.Errorf("%d body %s, want {\"Message\": ...}", status, body)
			}
		},
	}
}

func salesforce(t *testing.T) harness {
	srv := salesforcetest.NewServer(salesforcetest.Config{ClientID: "3MVG9.key", ClientSecret: "s3cret"})
	t.Cleanup(srv.Close)
	const v = "/services/data/v62.0"
	return harness{
		srv: srv,
		token: func(t *testing.T) string {
			return postForm(t, srv.URL+"/services/oauth2/token", url.Values{"grant_type": {"client_credentials"},
				"client_id": {"3MVG9.key"}, "client_secret": {"s3cret"}})
		},
		get: bearerGet(srv.URL),
		a:   v + "/limits", b: v + "/sobjects/Task/describe",
		logged: logOf(srv.Log),
		// Salesforce's error array
		// (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm).
		errorShape: func(t *testing.T, status int, body []byte) {
			var e []struct{ Message, ErrorCode string }
			decode(t, body, &e)
			if len(e) != 1 || e[0].Message == "" || e[0].ErrorCode == "" {
				t.Errorf("%d body %s, want [{\"message\",\"errorCode\"}]", status, body)
			}
		},
	}
}

func zoho(t *testing.T) harness {
	srv := zohotest.NewServer()
	t.Cleanup(srv.Close)
	return harness{
		srv: srv,
		token: func(t *testing.T) string {
			return postForm(t, srv.AccountsURL+"/oauth/v2/token", url.Values{"grant_type": {"refresh_token"},
				"client_id": {srv.ClientID}, "client_secret": {srv.ClientSecret}, "refresh_token": {srv.RefreshToken}})
		},
		get: func(t *testing.T, tok, path string) (int, http.Header, []byte) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
			return send(t, req)
		},
		a: "/crm/v8/users", b: "/crm/v8/settings/modules",
		logged: logOf(srv.Log),
		// Zoho's error object (the error examples of the v8 API in zoho/crm-oas).
		errorShape: func(t *testing.T, status int, body []byte) {
			var e struct {
				Code, Message, Status string
				Details               map[string]any
			}
			decode(t, body, &e)
			want := "INTERNAL_ERROR"
			if status == http.StatusTooManyRequests {
				want = "TOO_MANY_REQUESTS"
			}
			if e.Code != want || e.Message == "" || e.Status != "error" || e.Details == nil {
				t.Errorf("%d body %s, want {\"code\":%q,\"details\",\"message\",\"status\":\"error\"}", status, body, want)
			}
		},
	}
}

func TestCommonAPI(t *testing.T) {
	for name, mk := range map[string]func(*testing.T) harness{
		"dynamics":   dynamics,
		"enreach":    enreach,
		"salesforce": salesforce,
		"zoho":       zoho,
	} {
		t.Run(name, func(t *testing.T) {
			h := mk(t)
			s := h.srv
			counts := func(step string, req, api, tok int) {
				t.Helper()
				if s.Requests() != req || s.APIRequests() != api || s.TokenRequests() != tok || len(h.logged()) != api {
					t.Fatalf("%s: Requests %d APIRequests %d TokenRequests %d Log %d, want %d %d %d %d", step,
						s.Requests(), s.APIRequests(), s.TokenRequests(), len(h.logged()), req, api, tok, api)
				}
			}
			var tk string
			get := func(path string, want int) ([]byte, http.Header) {
				t.Helper()
				status, hdr, body := h.get(t, tk, path)
				if status != want {
					t.Fatalf("GET %s: %d %s, want %d", path, status, body, want)
				}
				return body, hdr
			}
			s.ResetLog()
			counts("reset", 0, 0, 0)
			tk = h.token(t)
			ntok := s.TokenRequests() // 0 for a vendor without a token endpoint
			counts("token", ntok, 0, ntok)

			// Every request served counts, API ones in APIRequests and RequestsTo.
			get(h.a, http.StatusOK)
			get(h.b, http.StatusOK)
			get(h.b, http.StatusOK)
			counts("3 API requests", ntok+3, 3, ntok)
			if s.RequestsTo("GET", h.a) != 1 || s.RequestsTo("", h.b) != 2 || s.RequestsTo("POST", h.b) != 0 ||
				s.RequestsTo("", "") != 3 || s.RequestsTo("", h.b[:len(h.b)-2]+"*") != 2 {
				t.Fatalf("RequestsTo: GET a %d, b %d, POST b %d, all %d, prefix of b %d", s.RequestsTo("GET", h.a),
					s.RequestsTo("", h.b), s.RequestsTo("POST", h.b), s.RequestsTo("", ""), s.RequestsTo("", h.b[:len(h.b)-2]+"*"))
			}

			// A fault answers the next Times requests it selects, then stops;
			// other paths and methods are unaffected.
			s.Fail(double.Fault{Path: h.a, Status: http.StatusServiceUnavailable, Times: 2})
			s.Fail(double.Fault{Method: http.MethodPost, Path: h.b, Status: http.StatusInternalServerError})
			get(h.b, http.StatusOK)
			body, _ := get(h.a, http.StatusServiceUnavailable)
			h.errorShape(t, http.StatusServiceUnavailable, body)
			get(h.b, http.StatusOK)
			get(h.a, http.StatusServiceUnavailable)
			get(h.a, http.StatusOK)
			counts("faults", ntok+8, 8, ntok)
			log := h.logged()
			if log[4].Status != http.StatusServiceUnavailable || log[4].Path != h.a || log[7].Status != http.StatusOK {
				t.Fatalf("log %+v", log)
			}

			// A throttle carries Retry-After in whole seconds, rounded up.
			s.Fail(double.Fault{Status: http.StatusTooManyRequests, RetryAfter: 1500 * time.Millisecond})
			body, hdr := get(h.b, http.StatusTooManyRequests)
			h.errorShape(t, http.StatusTooManyRequests, body)
			if hdr.Get("Retry-After") != "2" {
				t.Errorf("Retry-After %q, want 2", hdr.Get("Retry-After"))
			}
			get(h.b, http.StatusOK)

			// Token requests are never faulted.
			if ntok > 0 {
				s.Fail(double.Fault{Status: http.StatusBadGateway})
				tk = h.token(t)
				body, _ := get(h.a, http.StatusBadGateway)
				h.errorShape(t, http.StatusBadGateway, body)
			}
		})
	}
}
