package jsonw

import (
	"math"
	"slices"
	"strconv"
)

// AppendValue appends v as Marshal writes it, for the values a JSON body
// built from maps usually holds: nil, strings, bools, ints, float64s,
// map[string]any and map[string]string (keys in sorted order), and slices
// of any, of such maps and of strings, nested in any way. ok is false, and
// dst unusable, for a value of any other type (or an infinite or NaN
// float, which Marshal refuses): the caller then uses Marshal.
func AppendValue(dst []byte, v any) (_ []byte, ok bool) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), true
	case string:
		return AppendString(dst, v), true
	case bool:
		return AppendBool(dst, v), true
	case int:
		return AppendInt(dst, v), true
	case float64:
		return appendFloat(dst, v)
	case map[string]any:
		return appendMap(dst, v)
	case map[string]string:
		return appendMap(dst, v)
	case []any:
		return appendSlice(dst, v)
	case []map[string]any:
		return appendSlice(dst, v)
	case []string:
		return appendSlice(dst, v)
	}
	return dst, false
}

// appendMap appends m as Marshal writes a map: its keys in sorted order.
func appendMap[V any](dst []byte, m map[string]V) (_ []byte, ok bool) {
	if m == nil {
		return append(dst, "null"...), true
	}
	dst = append(dst, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(AppendString(dst, k), ':')
		if dst, ok = AppendValue(dst, m[k]); !ok {
			return dst, false
		}
	}
	return append(dst, '}'), true
}

// sortedKeys returns m's keys in order, in a slice made at its size
// (slices.Sorted(maps.Keys(m)) grows its slice as it goes: in the Zoho
// client's BenchmarkInsertBody/append, 1,620 allocations against 316).
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendSlice[T any](dst []byte, s []T) (_ []byte, ok bool) {
	if s == nil {
		return append(dst, "null"...), true
	}
	dst = append(dst, '[')
	for i, e := range s {
		if i > 0 {
			dst = append(dst, ',')
		}
		if dst, ok = AppendValue(dst, e); !ok {
			return dst, false
		}
	}
	return append(dst, ']'), true
}

// appendFloat appends f as Marshal writes a float64: the shortest
// representation, in exponent form only below 1e-6 or from 1e21 on, a
// negative exponent with at least one digit ("1e-07" as "1e-7").
func appendFloat(dst []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, true
}
