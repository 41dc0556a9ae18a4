package routing

import "encoding/json"

// The Smart Routing wire contract, in one place so it can be corrected
// against the live API. Source: /work/shared/reference/enreach.md §7
// (documented by Enreach: EV/smartrouting, WIKI/1215791782) and §8 (the
// team's working contract, [assumed]).
const (
	// headerAPIKey carries the shared key (§7 [doc]); HTTP Basic with the
	// key as password is the documented alternative (§7 [doc]).
	headerAPIKey = "X-Benemen-APIKey"
	// TargetDisconnect hangs the call up (§7 [doc]).
	TargetDisconnect = "DISCONNECT:"
	// MaxBody bounds a request body. Enreach sends anum, bnum, targetid and
	// a small extradata object (§7); 64 KiB is far above that [assumed].
	MaxBody = 64 << 10
)

// request is Enreach's routing lookup (§7 [doc]). Unknown fields are
// accepted (§7 [assumed]); encoding/json matches names case-insensitively,
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
// default (§7 [doc]); the default routing is 204 No Content (§8 [assumed]).
type response struct {
	// InitialTarget is a phone number, queue or user target, or
	// TargetDisconnect. It is never the request's bnum (§8 [assumed]).
	InitialTarget string `json:"InitialTarget"`
	// FailTarget replaces the default overflow target; omitted = keep it.
	FailTarget string `json:"FailTarget,omitempty"`
}
