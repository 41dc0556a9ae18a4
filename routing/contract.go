package routing

import "encoding/json"

// The Smart Routing wire contract, in one place so it can be corrected
// against the live API. Sources: https://doc.enreachvoice.com/smartrouting and the
// SmartRouting HTTP Integrator Guide
// (https://benemen.atlassian.net/wiki/spaces/PD/pages/1215791782) [doc]; the
// rest is the team's working contract [assumed].
const (
	// headerAPIKey carries the shared key [doc]; HTTP Basic with the
	// key as password is the documented alternative [doc].
	headerAPIKey = "X-Benemen-APIKey"
	// TargetDisconnect hangs the call up [doc].
	TargetDisconnect = "DISCONNECT:"
	// MaxBody bounds a request body. Enreach sends anum, bnum, targetid and
	// a small extradata object [doc]; 64 KiB is far above that [assumed].
	MaxBody = 64 << 10
)

// request is Enreach's routing lookup [doc]. Unknown fields are
// accepted [assumed]; encoding/json matches names case-insensitively,
// so "ANum" reads too.
type request struct {
	// ANum is the caller, E.164.
	ANum *string `json:"anum"`
	// BNum is the dialled number, E.164.
	BNum string `json:"bnum"`
	// TargetID is an optional tag set in the Enreach queue configuration.
	TargetID string `json:"targetid"`
	// ExtraData is only sent when configured (CallId, CurrQueueId, DYN_*
	// ...); any JSON value is accepted and ignored.
	ExtraData json.RawMessage `json:"extradata"`
}

// response is the 200 answer, sent only when routing differs from the
// default [doc]; the default routing is 204 No Content [assumed].
type response struct {
	// InitialTarget is a phone number, queue or user target, or
	// TargetDisconnect. It is never the request's bnum [assumed].
	InitialTarget string `json:"InitialTarget"`
	// FailTarget replaces the default overflow target; omitted = keep it.
	FailTarget string `json:"FailTarget,omitempty"`
}
