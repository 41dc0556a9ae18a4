package salesforce

import (
	"encoding/json"
	"testing"
)

// Error answers, query pages, search answers and dateTime values decode or
// fail cleanly, never panic. Shapes from the REST API Developer Guide
// (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm,
// .../resources_query.htm, .../resources_search.htm).
func FuzzDecodeAnswers(f *testing.F) {
	for _, s := range []string{
		`[{"message":"No such column 'Phone2' on entity 'Contact'.","errorCode":"INVALID_FIELD","fields":["Phone2"]}]`,
		`[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]`,
		`{"error":"invalid_client","error_description":"invalid client credentials"}`,
		`{"totalSize":1,"done":false,"nextRecordsUrl":"/services/data/v62.0/query/01g-2000","records":[{"attributes":{"type":"Task","url":"/x"},"Id":"00T1","CreatedDate":"2026-01-02T10:00:00.000+0000","CallDurationInSeconds":65}]}`,
		`{"searchRecords":[{"attributes":{"type":"Contact"},"Id":"003A","Name":"Alice","Phone":"+358401234567","OwnerId":"005A","AccountId":null,"Extra":{"a":[1,2]}}]}`,
		`2026-01-02T10:00:00.000+0000`, `2026-01-02T10:00:00Z`, `[]`, `null`, `[{"errorCode":1}]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &Client{}
		for _, status := range []int{400, 404, 500} {
			err := c.answerError(status, data)
			if err == nil || err.Error() == "" {
				t.Fatalf("answerError(%d) = %v", status, err)
			}
			if e, ok := err.(*APIError); ok {
				_ = e.Code()
			}
		}
		var p queryPage
		if json.Unmarshal(data, &p) == nil {
			for _, raw := range p.Records {
				var rec map[string]any
				if json.Unmarshal(raw, &rec) == nil {
					for k := range rec {
						_ = str(rec, k)
					}
				}
			}
		}
		var ans struct {
			SearchRecords []map[string]any `json:"searchRecords"`
		}
		if json.Unmarshal(data, &ans) == nil {
			for _, rec := range ans.SearchRecords {
				attrs, _ := rec["attributes"].(map[string]any)
				_, _ = entityOf(str(attrs, "type"))
				for k := range rec {
					_ = digitsOf(str(rec, k))
				}
			}
		}
		if tm, err := parseDateTime(string(data)); err == nil && tm.Location().String() != "UTC" {
			t.Fatalf("parseDateTime(%q) = %v, not UTC", data, tm)
		}
	})
}
