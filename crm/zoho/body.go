package zoho

import (
	"encoding/json"

	"github.com/callsync/callsync/internal/jsonw"
)

// marshalBody encodes a request body as json.Marshal does. The bodies the
// client builds (records as maps of strings, lookups and string lists, a
// COQL query) are appended without reflection (jsonw.AppendValue), an
// encodedBody (a Calls insert) is sent as it is; any other value goes
// through json.Marshal.
func marshalBody(body any) ([]byte, error) {
	if b, ok := body.(encodedBody); ok {
		return b, nil
	}
	if b, ok := jsonw.AppendValue(make([]byte, 0, 512), body); ok {
		return b, nil
	}
	return json.Marshal(body)
}
