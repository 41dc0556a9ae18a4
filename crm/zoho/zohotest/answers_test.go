package zohotest

import (
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// writeAnswer writes what writeJSON writes (status, header, bytes), for
// answers one after the other into the buffers of those before: large,
// small, empty, one Marshal writes (a type AppendValue does not take, a
// NaN it refuses).
func TestWriteAnswerAsWriteJSON(t *testing.T) {
	s := &Server{}
	many := make([]any, 0, 300)
	for i := range 300 {
		many = append(many, map[string]any{"code": "SUCCESS", "details": map[string]any{"id": strings.Repeat("9", i%20)}, "status": "success"})
	}
	values := []any{
		map[string]any{"data": many},
		map[string]any{"data": []any{map[string]any{"code": "SUCCESS"}}},
		map[string]any{},
		map[string]any{"data": many[:40], "info": map[string]any{"more_records": true, "count": 40}},
		struct{ A int }{7},
		map[string]any{"x": math.NaN()},
		"plain",
		map[string]any{"data": many[:3]},
	}
	for i, v := range values {
		got, want := httptest.NewRecorder(), httptest.NewRecorder()
		s.writeAnswer(got, http.StatusAccepted, v)
		writeJSON(want, http.StatusAccepted, v)
		if got.Code != want.Code || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") || got.Body.String() != want.Body.String() {
			t.Errorf("value %d: %d %q %.200q; writeJSON %d %q %.200q", i, got.Code, got.Header().Get("Content-Type"), got.Body.String(),
				want.Code, want.Header().Get("Content-Type"), want.Body.String())
		}
	}
}
