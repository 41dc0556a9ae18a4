package salesforce

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/httpclient"
)

// Grants accepted in Config.Grant [Auth].
const (
	GrantClientCredentials = "client_credentials"
	GrantJWT               = "jwt"
	GrantPassword          = "password"
)

// tokenSource builds the OAuth token source of the configured grant. Tokens
// carry no expiry (Salesforce sends no expires_in), so the TokenCache keeps a
// session until the API refuses it with 401 INVALID_SESSION_ID [Auth].
func tokenSource(cfg Config, opts Options, now func() time.Time, log *slog.Logger) (oauth2.TokenSource, error) {
	// New validated cfg: login_url, client_id, the grant and what it needs.
	login := cfg.LoginURL
	tokenURL := login + tokenPath
	// Token requests get the team retry policy but no auth transport.
	hc := httpclient.New(opts.HTTP).StandardClient()
	ctx := context.WithValue(crm.WithOperation(context.Background(), "token"), oauth2.HTTPClient, hc)

	switch cfg.Grant {
	case GrantClientCredentials:
		cc := &clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     tokenURL,
			AuthStyle:    oauth2.AuthStyleInParams,
		}
		// Not cc.TokenSource: it wraps a ReuseTokenSource, which would hand
		// the refused session back forever (no expiry). TokenCache caches.
		return tokenFunc(func() (*oauth2.Token, error) { return cc.Token(ctx) }), nil

	case GrantJWT:
		pem, err := os.ReadFile(cfg.PrivateKeyFile)
		if err != nil {
			return nil, fmt.Errorf("salesforce: read private_key_file: %w", err)
		}
		key, err := jwt.ParseRSAPrivateKeyFromPEM(pem)
		if err != nil {
			return nil, fmt.Errorf("salesforce: private_key_file %s: %w", cfg.PrivateKeyFile, err)
		}
		return &jwtSource{
			clientID: cfg.ClientID,
			username: cfg.Username,
			audience: login,
			tokenURL: tokenURL,
			key:      key,
			hc:       hc,
			now:      now,
		}, nil

	case GrantPassword:
		log.Warn("salesforce: the username-password OAuth flow is deprecated and being retired by Salesforce "+
			"(blocked by default in orgs created Summer '23 or later, unsupported by External Client Apps); "+
			"switch to grant client_credentials or jwt", "login_url", login, "username", cfg.Username)
		oc := &oauth2.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			Endpoint:     oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		}
		user, pass := cfg.Username, cfg.Password+cfg.SecurityToken
		return tokenFunc(func() (*oauth2.Token, error) {
			return oc.PasswordCredentialsToken(ctx, user, pass)
		}), nil
	}
	return nil, fmt.Errorf("salesforce: grant %q is not one of client_credentials, jwt, password", cfg.Grant)
}

type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }

// jwtSource runs the OAuth 2.0 JWT bearer flow: an RS256 assertion with iss =
// consumer key, sub = username, aud = the login URL (the My Domain URL, as
// External Client Apps expect [Auth, assumed]) and exp within 3 minutes.
type jwtSource struct {
	clientID, username, audience, tokenURL string
	key                                    *rsa.PrivateKey
	hc                                     *http.Client
	now                                    func() time.Time
}

func (s *jwtSource) Token() (*oauth2.Token, error) {
	// MapClaims keeps aud a JSON string, as Salesforce documents it
	// (RegisteredClaims would send a one-element array).
	claims := jwt.MapClaims{
		"iss": s.clientID,
		"sub": s.username,
		"aud": s.audience,
		"exp": s.now().Add(jwtLifetime).Unix(),
	}
	assertion, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(s.key)
	if err != nil {
		return nil, fmt.Errorf("sign JWT assertion: %w", err)
	}
	form := url.Values{"grant_type": {grantJWTBearer}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(crm.WithOperation(context.Background(), "token"), http.MethodPost, s.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("oauth2: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oauth2: cannot fetch token: %w", err)
	}
	defer resp.Body.Close()
	body, err := httpclient.ReadBody(resp.Body, httpclient.LimitToken, "salesforce: token answer")
	if err != nil {
		return nil, fmt.Errorf("oauth2: cannot fetch token: %w", err)
	}
	var raw map[string]any
	jsonErr := json.Unmarshal(body, &raw)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := &oauth2.RetrieveError{Response: resp, Body: body}
		if jsonErr == nil {
			re.ErrorCode, _ = raw["error"].(string)
			re.ErrorDescription, _ = raw["error_description"].(string)
		}
		return nil, re
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("oauth2: cannot parse token response: %w", jsonErr)
	}
	tok := &oauth2.Token{}
	tok.AccessToken, _ = raw["access_token"].(string)
	tok.TokenType, _ = raw["token_type"].(string)
	if tok.AccessToken == "" {
		return nil, fmt.Errorf("oauth2: server response missing access_token")
	}
	return tok.WithExtra(raw), nil
}

// instanceURL returns the API host of a session [Auth: Response].
func instanceURL(tok *oauth2.Token) string {
	if tok == nil {
		return ""
	}
	s, _ := tok.Extra("instance_url").(string)
	return strings.TrimRight(s, "/")
}
