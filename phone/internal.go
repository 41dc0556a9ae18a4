package phone

// Internal is the set of a tenant's own numbers (its users' work and mobile
// numbers, queue and switchboard numbers) that are never matched to customers
// (frappe/crm#975: own numbers matched as customers). Short extensions are internal too. An
// Internal is immutable after NewInternal and safe for concurrent use.
type Internal struct {
	e164 map[string]struct{}
}

// NewInternal builds the set from raw numbers, normalised with the tenant's
// default region. Values that are not matchable numbers (empty, extensions)
// add nothing: every short number is internal anyway.
func NewInternal(defaultRegion string, numbers ...string) *Internal {
	in := &Internal{e164: make(map[string]struct{}, len(numbers))}
	for _, raw := range numbers {
		if n, ok := Normalize(raw, defaultRegion); ok {
			in.e164[n.E164()] = struct{}{}
		}
	}
	return in
}

// Contains reports whether n is one of the tenant's own numbers or a short
// extension (an unmatchable number with reason TooShort). Withheld, empty and
// unparsable numbers are not internal, just unmatchable. A nil *Internal
// holds only the short extensions.
func (in *Internal) Contains(n Number) bool {
	if n.Reason() == TooShort {
		return true
	}
	if in == nil || !n.Matchable() {
		return false
	}
	_, ok := in.e164[n.E164()]
	return ok
}

// Len returns how many distinct numbers the set holds.
func (in *Internal) Len() int {
	if in == nil {
		return 0
	}
	return len(in.e164)
}
