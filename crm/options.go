package crm

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// OptionError is one problem in a CRM client's configuration, named by its
// YAML key path below the client's block (e.g. "phone_fields.contact[0]";
// the caller prefixes "tenants[0].crm.dynamics.").
type OptionError struct {
	Key string
	Msg string
}

// Error is "key: message".
func (e *OptionError) Error() string { return e.Key + ": " + e.Msg }

// OptionErrors is every problem a client's Validate found, in the order of
// its checks.
type OptionErrors []*OptionError

// Error joins the errors, one per line.
func (es OptionErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each error to errors.Is and errors.As.
func (es OptionErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Err returns es as an error, nil when empty.
func (es OptionErrors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// Add appends a problem at key.
func (es *OptionErrors) Add(key, format string, args ...any) {
	*es = append(*es, &OptionError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// Required adds "required" at key when value is blank and reports whether
// it was set.
func (es *OptionErrors) Required(key, value string) bool {
	if strings.TrimSpace(value) == "" {
		es.Add(key, "required")
		return false
	}
	return true
}

// OneOf adds an error at key when value is not one of allowed.
func (es *OptionErrors) OneOf(key, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		es.Add(key, "invalid value %q (want %s)", value, strings.Join(allowed, " | "))
	}
}

// URL checks a base URL: https, or http on a loopback host (the test
// doubles and the sandbox), without query or fragment.
func (es *OptionErrors) URL(key, value string) {
	u, err := url.Parse(value)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		es.Add(key, "invalid URL %q (want https://host)", value)
		return
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		es.Add(key, "URL %q must use https", value)
		return
	}
	if u.RawQuery != "" || u.Fragment != "" {
		es.Add(key, "URL %q must not have a query or fragment", value)
	}
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var plainKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// JoinKey appends a map key to a key path: "a.b", or a["key with.dots"],
// as the config's error paths write it.
func JoinKey(path, key string) string {
	if !plainKey.MatchString(key) {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// KeyMsg returns the key path below the client's block and the message, for
// the configuration loader to name the full path.
func (e *OptionError) KeyMsg() (key, msg string) { return e.Key, e.Msg }
