package salesforcetest

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	grantClientCredentials = "client_credentials"
	grantPassword          = "password"
	grantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	// jwtMaxLifetime: the assertion's exp must lie within 3 minutes.
	jwtMaxLifetime = 3 * time.Minute
	jwtSkew        = 5 * time.Second
)

// oauthError is the token endpoint's error body.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func same(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// token serves POST /services/oauth2/token. Client credentials travel in the
// form (client_id, client_secret), as callsync sends them.
func (s *Server) token(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "must use HTTP POST")
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "must be application/x-www-form-urlencoded")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "malformed form")
		return
	}
	clientOK := func() bool {
		if form.Get("client_id") == "" || !same(form.Get("client_id"), s.cfg.ClientID) {
			oauthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
			return false
		}
		if s.cfg.ClientSecret == "" || !same(form.Get("client_secret"), s.cfg.ClientSecret) {
			oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
			return false
		}
		return true
	}
	switch form.Get("grant_type") {
	case grantClientCredentials:
		if !clientOK() {
			return
		}
		s.issue(w, true)
	case grantPassword:
		if !clientOK() {
			return
		}
		if s.cfg.Username == "" || form.Get("username") != s.cfg.Username ||
			!same(form.Get("password"), s.cfg.Password+s.cfg.SecurityToken) {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "authentication failure")
			return
		}
		s.issue(w, false)
	case grantJWTBearer:
		if code, desc := s.checkAssertion(form.Get("assertion")); code != "" {
			oauthError(w, http.StatusBadRequest, code, desc)
			return
		}
		s.issue(w, false)
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
	}
}

// checkAssertion verifies a JWT bearer assertion: RS256 signature with the
// configured key, iss = client id, sub = username, aud = the login URL, exp
// in the future and within 3 minutes.
func (s *Server) checkAssertion(assertion string) (code, desc string) {
	if assertion == "" {
		return "invalid_request", "assertion is required"
	}
	if s.cfg.JWTPublicKey == nil {
		return "invalid_grant", "invalid assertion"
	}
	now := s.cfg.Now()
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(assertion, claims,
		func(*jwt.Token) (any, error) { return s.cfg.JWTPublicKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "invalid_grant", "expired authorization code"
	case err != nil:
		return "invalid_grant", "invalid assertion"
	}
	if iss, _ := claims["iss"].(string); iss != s.cfg.ClientID {
		return "invalid_client_id", "client identifier invalid"
	}
	// aud is one URL, a JSON string as Salesforce documents it.
	if aud, _ := claims["aud"].(string); aud != s.cfg.JWTAudience {
		return "invalid_grant", "audience is invalid"
	}
	if sub, _ := claims["sub"].(string); sub == "" || sub != s.cfg.Username {
		return "invalid_grant", "user hasn't approved this consumer"
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp.Time.After(now.Add(jwtMaxLifetime+jwtSkew)) {
		return "invalid_grant", "invalid assertion"
	}
	return "", ""
}

// issue answers a new session: no expires_in, no refresh token.
func (s *Server) issue(w http.ResponseWriter, clientCredentials bool) {
	tok := "00D000000000001!AR" + randomHex(24)
	s.tokens[tok] = true
	ans := map[string]string{
		"access_token": tok,
		"instance_url": s.URL,
		"id":           s.URL + "/id/00D000000000001AAA/" + s.runAs,
		"token_type":   "Bearer",
		"issued_at":    strconv.FormatInt(s.cfg.Now().UnixMilli(), 10),
		"signature":    base64.StdEncoding.EncodeToString([]byte(randomHex(16))),
		"scope":        "api",
	}
	if clientCredentials {
		ans["token_format"] = "opaque"
	}
	writeJSON(w, http.StatusOK, ans)
}
