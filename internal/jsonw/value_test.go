package jsonw

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

func valueCases() []any {
	out := []any{nil, "x", true, false, 0, -12, 1 << 40, 0.0, 1.5, -2.25, 1e-6, 1e-7, 123456789e-20, 1e20, 1e21, -1e21, 3.0e100,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 0.1 + 0.2,
		map[string]any{}, map[string]any(nil), map[string]string{}, map[string]string(nil), []any{}, []any(nil), []string(nil), []map[string]any(nil),
		map[string]any{"b": 1, "a": "x", "é": nil, "A": []any{1, "2", 3.5, map[string]string{"k": "<v>"}}, "": []string{"a", ""}},
		[]map[string]any{{"id": "1"}, nil, {}},
		map[string]any{"data": []map[string]any{{"Subject": "s", "Owner": map[string]any{"id": "41"}}}, "trigger": []string{}},
	}
	for _, s := range stringCases() {
		out = append(out, s, map[string]any{s: s}, map[string]string{s: s})
	}
	return out
}

// AppendValue writes what Marshal writes, and leaves what it does not
// handle (other types, NaN and infinities) to Marshal.
func TestAppendValueIsMarshal(t *testing.T) {
	for _, v := range valueCases() {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := AppendValue([]byte("pre"), v)
		if !ok || !bytes.Equal(got, append([]byte("pre"), want...)) {
			t.Errorf("AppendValue(%#v) = %s, %v, want %s", v, got, ok, want)
		}
	}
	for _, v := range []any{time.Time{}, float32(1), int64(1), []int{1}, map[string]any{"k": math.NaN()}, []any{math.Inf(1)},
		map[string]int{}, struct{}{}} {
		if _, ok := AppendValue(nil, v); ok {
			t.Errorf("AppendValue(%#v) took a value it leaves to Marshal", v)
		}
	}
}

func FuzzAppendValue(f *testing.F) {
	f.Add("k", "v", 1.5, 3)
	f.Add("<&>", "\u2028\xff", 1e-7, -1)
	f.Add("", "", 1e21, 0)
	f.Fuzz(func(t *testing.T, k, s string, x float64, n int) {
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return
		}
		v := map[string]any{k: s, "f": x, "n": n, "l": []any{x, s, map[string]string{s: k}}, "m": []map[string]any{{k: x}}}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := AppendValue(nil, v); !ok || !bytes.Equal(got, want) {
			t.Errorf("AppendValue(%#v) = %s, %v, want %s", v, got, ok, want)
		}
	})
}
