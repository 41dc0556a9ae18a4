package zoho

import (
	"encoding/json"
	"testing"
)

// Error answers and COQL rows decode or fail cleanly, never panic. Shapes
// from https://github.com/zoho/crm-oas (v8.0 error and record examples).
func FuzzDecodeAnswers(f *testing.F) {
	for _, s := range []string{
		`{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`,
		`{"code":"INVALID_QUERY","details":{"column_name":"Mobile2"},"message":"invalid column given","status":"error"}`,
		`{"data":[{"code":"INVALID_DATA","details":{"api_name":"Call_Duration"},"message":"invalid data","status":"error"}]}`,
		`{"data":[{"id":"5725767000000649013","Full_Name":"Alice","Phone":"+358401234567","Owner":{"name":"Bob","id":"5725767000000411001"},"Account_Name":{"id":123},"Tag":[],"n":1.5,"b":true}],"info":{"count":1,"more_records":false}}`,
		`<html>Bad gateway</html>`, `null`, `{"code":1}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		e := apiError(400, data)
		if e == nil || e.Error() == "" || len(e.Message) > len(data)+200 {
			t.Fatalf("apiError: %+v", e)
		}
		_ = rowString(data)
		_ = rowID(data)
		var out struct {
			Data []map[string]json.RawMessage `json:"data"`
		}
		if json.Unmarshal(data, &out) == nil {
			for _, row := range out.Data {
				for k, v := range row {
					_ = rowString(v)
					_ = rowID(v)
					_ = userField(row, k)
				}
			}
		}
	})
}
