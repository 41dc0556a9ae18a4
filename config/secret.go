package config

import (
	"fmt"
	"log/slog"
)

// Secret is a credential. It never prints: String, fmt verbs, slog and JSON
// all show a redaction marker. Value returns the real text.
type Secret string

const redacted = "[redacted]"

// UnsetSecret stands for a secret whose ${VAR} was not set, in a config read
// by LoadLocal.
const UnsetSecret = "[unset]"

// Value returns the secret itself, for the one place that sends it.
func (s Secret) Value() string { return string(s) }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s != "" }

// String implements fmt.Stringer with a redaction marker.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v redacted too.
func (s Secret) GoString() string { return s.String() }

// Format redacts every fmt verb, %s %v %q %x included.
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, s.String()) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText redacts in JSON and YAML output.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
