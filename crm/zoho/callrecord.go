package zoho

import (
	"strconv"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/jsonw"
)

// encodedBody is a request body already encoded as json.Marshal writes it
// (compact, HTML-escaped): marshalBody sends it as it is, and json.Marshal
// writes it unchanged (MarshalJSON).
type encodedBody []byte

// MarshalJSON returns b.
func (b encodedBody) MarshalJSON() ([]byte, error) { return b, nil }

// callsShape is what a module's metadata adds to Calls records (see
// shape.go): the Calls field Telephony_External_ID__s, and audit_field with
// its length, when the module has them writable. It is read once per body.
type callsShape struct {
	callIDField string // Config.CallIDField; "" for none
	telephony   bool   // Telephony_External_ID__s is written
	auditField  string // "" when audit_field is not written
	auditLen    int    // audit_field's length (truncateAudit)
}

// callsShape returns the shape of Calls records under schema s (known: see
// writeSchema).
func (c *Client) callsShape(s crm.Schema, known bool) callsShape {
	sh := callsShape{callIDField: c.cfg.CallIDField}
	if !known {
		return sh
	}
	if c.cfg.CallIDField != fTelephonyID {
		_, sh.telephony = writable(s, fTelephonyID, "text")
	}
	if f := c.cfg.AuditField; f != "" {
		if fi, ok := writable(s, f, "textarea", "text"); ok {
			sh.auditField, sh.auditLen = f, fi.MaxLength
		}
	}
	return sh
}

// callsBody is the body of a Calls insert of the activities of chunk:
// {"data":[records],"trigger":[]}, as json.Marshal writes the map it
// replaces (keys sorted: data, trigger).
func (c *Client) callsBody(acts []crm.Activity, chunk []int, now time.Time, sh callsShape) encodedBody {
	n := 32
	for _, i := range chunk {
		a := &acts[i]
		n += 768 + len(a.Subject) + len(a.Description) + len(a.QueueName) + len(a.RecordingLink) + len(a.Audit)
	}
	b := make([]byte, 0, n)
	b = append(b, `{"data":[`...)
	for k, i := range chunk {
		if k > 0 {
			b = append(b, ',')
		}
		b = c.appendCallRecord(b, acts[i], now, sh)
	}
	return append(b, `],"trigger":[]}`...)
}

// member is a record field whose key is configured (call_id_field,
// audit_field) or depends on the org (Telephony_External_ID__s), with its
// string value.
type member struct{ key, val string }

// recordWriter appends a JSON object whose fixed members are written in key
// order by the caller, merging in the extra members in their place. The
// extra members were set after the fixed ones in the map this replaces, so
// an extra member with the key of a fixed one replaces it.
type recordWriter struct {
	dst   []byte
	extra []member // sorted by key, keys distinct
	n     int      // members written
}

func (w *recordWriter) sep() {
	if w.n > 0 {
		w.dst = append(w.dst, ',')
	}
	w.n++
}

// field starts the fixed member k (a constant needing no escaping) after
// the extra members whose keys sort before it; it reports false, writing
// nothing for k, when an extra member has key k (written instead).
func (w *recordWriter) field(k string) bool {
	for len(w.extra) > 0 && w.extra[0].key <= k {
		e := w.extra[0]
		w.extra = w.extra[1:]
		w.sep()
		w.dst = append(jsonw.AppendString(w.dst, e.key), ':')
		w.dst = jsonw.AppendString(w.dst, e.val)
		if e.key == k {
			return false
		}
	}
	w.sep()
	w.dst = append(w.dst, '"')
	w.dst = append(w.dst, k...)
	w.dst = append(w.dst, '"', ':')
	return true
}

func (w *recordWriter) str(k, v string) {
	if w.field(k) {
		w.dst = jsonw.AppendString(w.dst, v)
	}
}

// ref writes k as a lookup, {"id":id}.
func (w *recordWriter) ref(k, id string) {
	if w.field(k) {
		w.dst = append(w.dst, `{"id":`...)
		w.dst = append(jsonw.AppendString(w.dst, id), '}')
	}
}

// time writes k as formatTime(t).
func (w *recordWriter) time(k string, t time.Time) {
	if w.field(k) {
		w.dst = append(w.dst, '"')
		w.dst = append(t.UTC().Truncate(time.Second).AppendFormat(w.dst, zohoDateTimeLayout), '"')
	}
}

// duration writes k as formatDuration(d, typ).
func (w *recordWriter) duration(k string, d time.Duration, typ string) {
	if !w.field(k) {
		return
	}
	s := int64((d + time.Second/2) / time.Second)
	if s < 1 && typ != callTypeMissed {
		s = 1
	}
	if s < 0 {
		s = 0
	}
	w.dst = append(w.dst, '"')
	if m := s / 60; m < 10 {
		w.dst = append(w.dst, '0', byte('0'+m))
	} else {
		w.dst = strconv.AppendInt(w.dst, m, 10)
	}
	sec := s % 60
	w.dst = append(w.dst, ':', byte('0'+sec/10), byte('0'+sec%10), '"')
}

// end writes the extra members left and closes the object.
func (w *recordWriter) end() []byte {
	for _, e := range w.extra {
		w.sep()
		w.dst = append(jsonw.AppendString(w.dst, e.key), ':')
		w.dst = jsonw.AppendString(w.dst, e.val)
	}
	w.extra = nil
	return append(w.dst, '}')
}

// appendCallRecord appends a's Calls record (insert-records) under shape
// sh, byte for byte as json.Marshal wrote the map of its fields before:
// Who_Id takes a contact, What_Id + $se_module an account or a lead
// (Zoho's Kaizen #36 developer post [doc]; that Leads is accepted in What_Id
// is [assumed]). Caller_ID holds the calling number and Dialled_Number the
// called one, so the customer's number is in Caller_ID for inbound and
// Dialled_Number for outbound calls; FindActivities searches both
// [assumed]. call_id_field gets externalCallID, and so does
// Telephony_External_ID__s when the module has it; audit_field gets
// Activity.Audit cut at the field's length (shape.go).
func (c *Client) appendCallRecord(dst []byte, a crm.Activity, now time.Time, sh callsShape) []byte {
	// The extra members in the order the map received them, a later one
	// replacing an earlier one of the same key, then sorted by key.
	var extra [3]member
	n := 0
	set := func(k, v string) {
		for i := range n {
			if extra[i].key == k {
				extra[i].val = v
				return
			}
		}
		extra[n] = member{k, v}
		n++
	}
	if sh.callIDField != "" {
		set(sh.callIDField, externalCallID(a))
	}
	if sh.telephony {
		set(fTelephonyID, externalCallID(a))
	}
	if sh.auditField != "" && a.Audit != "" {
		set(sh.auditField, truncateAudit(a.Audit, sh.auditLen))
	}
	for i := 1; i < n; i++ {
		for j := i; j > 0 && extra[j].key < extra[j-1].key; j-- {
			extra[j], extra[j-1] = extra[j-1], extra[j]
		}
	}

	typ := callType(a)
	callback := a.Kind == crm.KindCallback
	caller, dialled := a.Number, a.DialledNumber
	if typ == callTypeOutbound {
		caller, dialled = a.DialledNumber, a.Number
	}
	var who, what, module string
	if r := a.Regarding; r != nil && r.ID != "" {
		if r.Entity == crm.Contact {
			who = r.ID
		} else {
			what, module = r.ID, moduleOf(r.Entity)
		}
	}

	w := recordWriter{dst: append(dst, '{'), extra: extra[:n]}
	// The fixed members in key order (byte order, as json.Marshal sorts a
	// map's keys).
	if what != "" {
		w.str(fSeModule, module)
	}
	if callback {
		if a.Duration > 0 { // a scheduled call takes a duration too [assumed]
			w.duration(fCallDuration, a.Duration, typ)
		}
		w.time(fCallStartTime, callbackStart(a, now))
	} else {
		w.duration(fCallDuration, a.Duration, typ)
		w.time(fCallStartTime, a.Start)
	}
	w.str(fCallType, typ)
	if caller != "" {
		w.str(fCallerID, caller)
	}
	w.str(fDescription, callDescription(a))
	if dialled != "" {
		w.str(fDialledNumber, dialled)
	}
	switch {
	case callback:
		w.str(fOutboundStatus, outboundScheduled)
	case typ == callTypeOutbound:
		w.str(fOutboundStatus, outboundCompleted)
	}
	if a.OwnerID != "" {
		w.ref(fOwner, a.OwnerID)
	}
	w.str(fSubject, subject(a, c.loc))
	if what != "" {
		w.ref(fWhatID, what)
	}
	if who != "" {
		w.ref(fWhoID, who)
	}
	return w.end()
}
