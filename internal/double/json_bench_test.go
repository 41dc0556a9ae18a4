package double

import (
	"fmt"
	"strings"
	"testing"
)

// phoneCallBody is a phone call create as the Dynamics client sends it in
// a backfill's $batch.
const phoneCallBody = `{"activityid":"0d5954e3-287b-5646-a667-0acf1067d299","actualdurationminutes":5,"actualend":"2026-12-06T09:26:11Z",` +
	`"actualstart":"2026-12-06T09:20:17Z","description":"CallId is 0d5954e3-287b-5646-a667-0acf1067d299\nIncoming direct call\nCustomer: +358401002543",` +
	`"directioncode":false,"ownerid@odata.bind":"/systemusers(5d1f0f39-4b54-4c2a-9d38-8f0fd3f0d1a1)","phonecall_activity_parties":[` +
	`{"participationtypemask":1,"partyid_contact@odata.bind":"/contacts(9c3a3b47-2a7e-4a5e-9a3f-0b4d6a1c2e3f)"},` +
	`{"participationtypemask":2,"partyid_systemuser@odata.bind":"/systemusers(5d1f0f39-4b54-4c2a-9d38-8f0fd3f0d1a1)"}],` +
	`"phonenumber":"+358401002543","regardingobjectid_contact_phonecall@odata.bind":"/contacts(9c3a3b47-2a7e-4a5e-9a3f-0b4d6a1c2e3f)",` +
	`"subject":"Incoming direct call"}`

// taskCollection is a Salesforce sObject Collections upsert of 200 Tasks.
func taskCollection() []byte {
	var b strings.Builder
	b.WriteString(`{"allOrNone":false,"records":[`)
	for i := range 200 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"attributes":{"type":"Task"},"Enreach_Call_Id__c":"call-%06d","Subject":"Incoming call",`+
			`"Status":"Completed","Priority":"Normal","TaskSubtype":"Call","CallType":"Inbound","CallDurationInSeconds":%d,`+
			`"ActivityDate":"2026-12-06","WhoId":"003000000000%03dAAA","OwnerId":"005000000000001AAA","Description":"Enreach call %d"}`, i, 60+i, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// BenchmarkDecodeJSON reads a phone call create and a collection of 200
// Tasks as bodies of their own (DecodeJSONBody).
func BenchmarkDecodeJSON(b *testing.B) {
	for _, c := range []struct {
		name string
		body []byte
	}{{"phonecall", []byte(phoneCallBody)}, {"tasks200", taskCollection()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				if _, err := DecodeJSONBody(c.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecoderBatch reads 100 phone call creates with one Decoder, as
// the Dynamics double reads a $batch's requests.
func BenchmarkDecoderBatch(b *testing.B) {
	body := []byte(phoneCallBody)
	b.ReportAllocs()
	for b.Loop() {
		var dec Decoder
		for range 100 {
			if _, err := dec.Decode(body); err != nil {
				b.Fatal(err)
			}
		}
	}
}
