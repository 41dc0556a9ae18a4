// Package httpclient owns how callsync talks to other services over HTTP: every
// outbound request goes through go-retryablehttp with one retry policy (429, 5xx
// and connection errors; Retry-After honoured up to a cap, past which it gives up
// cleanly so the next scheduled run retries), and OAuth2 tokens are cached,
// renewed before expiry and renewed once more on a 401.
package httpclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Options tune the retry policy. Zero values take the defaults.
type Options struct {
	// RetryMax is the number of retries after the first attempt (default 4).
	RetryMax int
	// WaitMin and WaitMax bound the exponential backoff (default 1s, 30s).
	WaitMin time.Duration
	WaitMax time.Duration
	// RetryAfterCap is the longest Retry-After honoured (default 60s). A
	// longer one ends the retries with a *RetryAfterError.
	RetryAfterCap time.Duration
	// Timeout bounds one attempt (default 60s).
	Timeout time.Duration
	// Transport is the base transport (default http.DefaultTransport clone).
	Transport http.RoundTripper
	Logger    *slog.Logger
	// OnRetry, when set, is told about every retry (for metrics).
	OnRetry func(resp *http.Response, err error)
	// BodyLimit, when set, lowers every per-kind response body limit
	// (LimitRecords, ...) to at most this many bytes.
	BodyLimit int64
}

// Limit returns the body limit of a kind of answer (LimitRecords, ...)
// under these options.
func (o Options) Limit(kind int64) int64 {
	if o.BodyLimit > 0 && o.BodyLimit < kind {
		return o.BodyLimit
	}
	return kind
}

// RetryAfterError says the server asked us to wait longer than the cap.
type RetryAfterError struct {
	Status int
	Wait   time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("server answered %d with Retry-After %s, longer than the cap; giving up until the next run", e.Status, e.Wait)
}

// New returns a retrying client with callsync's policy.
func New(o Options) *retryablehttp.Client {
	if o.RetryMax == 0 {
		o.RetryMax = 4
	}
	if o.RetryMax < 0 {
		o.RetryMax = 0
	}
	if o.WaitMin == 0 {
		o.WaitMin = time.Second
	}
	if o.WaitMax == 0 {
		o.WaitMax = 30 * time.Second
	}
	if o.RetryAfterCap == 0 {
		o.RetryAfterCap = 60 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Transport == nil {
		o.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	c := retryablehttp.NewClient()
	c.HTTPClient = &http.Client{Transport: o.Transport, Timeout: o.Timeout}
	c.RetryMax = o.RetryMax
	c.RetryWaitMin = o.WaitMin
	c.RetryWaitMax = o.WaitMax
	if o.Logger != nil {
		c.Logger = leveled{o.Logger}
	} else {
		c.Logger = nil
	}
	cap := o.RetryAfterCap
	c.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
			if wait, ok := RetryAfter(resp); ok && wait > cap {
				return false, &RetryAfterError{Status: resp.StatusCode, Wait: wait}
			}
		}
		retry, perr := retryablehttp.DefaultRetryPolicy(ctx, resp, err)
		if retry && o.OnRetry != nil {
			o.OnRetry(resp, err)
		}
		return retry, perr
	}
	c.Backoff = func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
		if resp != nil {
			if wait, ok := RetryAfter(resp); ok {
				return min64(wait, cap)
			}
		}
		d := float64(min) * math.Pow(2, float64(attempt))
		if d > float64(max) || math.IsInf(d, 0) {
			return max
		}
		return time.Duration(d)
	}
	// Keep the last response (and its body) instead of "giving up after N
	// attempts" with nil, so callers can report the server's error.
	c.ErrorHandler = func(resp *http.Response, err error, attempts int) (*http.Response, error) {
		var rae *RetryAfterError
		if errors.As(err, &rae) {
			if resp != nil {
				resp.Body.Close()
			}
			return nil, err
		}
		if resp != nil && err == nil {
			return resp, nil
		}
		if resp != nil {
			resp.Body.Close()
		}
		return nil, fmt.Errorf("giving up after %d attempt(s): %w", attempts, err)
	}
	return c
}

// RetryAfter reads a Retry-After header given in seconds or as an HTTP date.
func RetryAfter(resp *http.Response) (time.Duration, bool) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			s = 0
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := time.Until(t)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

func min64(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

// leveled adapts slog to retryablehttp.LeveledLogger. Request chatter goes to
// debug; URLs carry no secrets in callsync (credentials travel in headers).
type leveled struct{ l *slog.Logger }

func (l leveled) Error(msg string, kv ...any) { l.l.Warn("http: "+msg, kv...) }
func (l leveled) Info(msg string, kv ...any)  { l.l.Debug("http: "+msg, kv...) }
func (l leveled) Debug(msg string, kv ...any) { l.l.Debug("http: "+msg, kv...) }
func (l leveled) Warn(msg string, kv ...any)  { l.l.Warn("http: "+msg, kv...) }
