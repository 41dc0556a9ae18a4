package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses the config's duration syntax: Go duration syntax
// ("15s", "2h", "1h30m", "120m"), a bare "0", or whole days in front
// ("2d", "1d12h"), the original product's Days age unit.
func ParseDuration(s string) (Duration, error) {
	bad := fmt.Errorf("invalid duration %q", s)
	s = strings.TrimSpace(s)
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseUint(s[:i], 10, 16)
		if err != nil {
			return 0, bad
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
		if s == "" {
			return Duration(days), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, bad
	}
	return Duration(days + d), nil
}

// ParseTimeOfDay parses a daily UTC time "HH:MM" (00:00 to 23:59) into its
// offset from midnight.
func ParseTimeOfDay(s string) (time.Duration, error) {
	d, ok := parseHHMM(strings.TrimSpace(s), false)
	if !ok || d >= 24*time.Hour {
		return 0, fmt.Errorf("invalid time of day %q (want HH:MM, UTC)", s)
	}
	return d, nil
}

// String writes the duration the way the config file does: "15s", "2h",
// "1h30m", two or more whole days as "14d".
func (d Duration) String() string {
	const day = 24 * time.Hour
	if t := time.Duration(d); t >= 2*day && t%day == 0 {
		return fmt.Sprintf("%dd", t/day)
	}
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalText writes the duration in config syntax (JSON logs, YAML output).
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads config duration syntax.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// ParseClock parses a daily UTC window "HH:MM-HH:MM". The start is 00:00 to
// 23:59, the end 00:00 to 24:00. It does not check that start < end; Validate does.
func ParseClock(s string) (Clock, error) {
	bad := fmt.Errorf("invalid time window %q (want HH:MM-HH:MM)", s)
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Clock{}, bad
	}
	start, ok1 := parseHHMM(strings.TrimSpace(from), false)
	end, ok2 := parseHHMM(strings.TrimSpace(to), true)
	if !ok1 || !ok2 {
		return Clock{}, bad
	}
	return Clock{Start: start, End: end}, nil
}

// parseHHMM reads "HH:MM"; "24:00" only when allow24.
func parseHHMM(s string, allow24 bool) (time.Duration, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, okh := twoDigits(s[0:2])
	m, okm := twoDigits(s[3:5])
	if !okh || !okm || m > 59 || h > 24 || (h == 24 && (!allow24 || m != 0)) {
		return 0, false
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, true
}

func twoDigits(s string) (int, bool) {
	if s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// String writes the window as "HH:MM-HH:MM".
func (c Clock) String() string {
	return hhmm(c.Start) + "-" + hhmm(c.End)
}

func hhmm(d time.Duration) string {
	m := int(d / time.Minute)
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// Length is the window's length (End - Start).
func (c Clock) Length() time.Duration { return c.End - c.Start }

// On returns the window's start and end on the UTC day of t.
func (c Clock) On(t time.Time) (start, end time.Time) {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return day.Add(c.Start), day.Add(c.End)
}

// MarshalText writes "HH:MM-HH:MM" (JSON logs, YAML output).
func (c Clock) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads "HH:MM-HH:MM".
func (c *Clock) UnmarshalText(b []byte) error {
	v, err := ParseClock(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}
