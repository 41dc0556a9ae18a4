package dynamicstest_test

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
)

var update = flag.Bool("update", false, "rewrite testdata/batch_answers.golden from the double's answers")

// answerTranscript turns a $batch answer into text that is the same for the
// same answer: the random multipart boundaries are named by their kind and
// every GUID is named by the order it first appeared in in the transcript
// (ids maps them). Nothing else is changed: a part's header lines, in the
// order of their names, are compared as written.
func answerTranscript(r result, ids map[string]string) string {
	body := string(r.body)
	body = regexp.MustCompile(`batchresponse_[0-9a-f-]{36}`).ReplaceAllString(body, "batchresponse_B")
	body = regexp.MustCompile(`changesetresponse_[0-9a-f-]{36}`).ReplaceAllString(body, "changesetresponse_C")
	lines := strings.Split(body, "\r\n")
	var b strings.Builder
	fmt.Fprintf(&b, "status %d\n", r.status)
	for _, h := range []string{"Content-Type", "OData-Version", "Preference-Applied"} {
		v := r.header.Get(h)
		v = regexp.MustCompile(`batchresponse_[0-9a-f-]{36}`).ReplaceAllString(v, "batchresponse_B")
		fmt.Fprintf(&b, "%s: %s\n", h, v)
	}
	b.WriteString(strings.Join(lines, "\r\n"))
	return nameGUIDs(b.String(), ids)
}

var guidRE = regexp.MustCompile(`(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func nameGUIDs(s string, ids map[string]string) string {
	return guidRE.ReplaceAllStringFunc(s, func(g string) string {
		g = strings.ToLower(g)
		if n, ok := ids[g]; ok {
			return n
		}
		n := fmt.Sprintf("<id%d>", len(ids))
		ids[g] = n
		return n
	})
}

// The double's $batch answers, byte for byte once their random parts are
// named (answerTranscript), and what each batch leaves stored, are those in
// testdata/batch_answers.golden: lone requests and changesets, creates and
// closes as the backfill sends them, a changeset that fails at its first,
// second or last request (rolled back) with and without
// odata.continue-on-error, Content-ID references in URLs and binds, upserts
// and their preconditions, AddToQueue, return=representation, the org
// shapes (a custom status reason, an added and a dropped column, a secured
// column, a denied privilege, queue parties refused) and refused batches.
// Run with -update to record them anew after a deliberate change.
func TestBatchAnswers(t *testing.T) {
	w := newWorld(t)
	c := w.c
	base := time.Date(2025, 5, 2, 8, 0, 0, 0, time.UTC)
	tick := 0
	c.srv.SetClock(func() time.Time { tick++; return base.Add(time.Duration(tick) * time.Second) })
	p := dynamicstest.APIPath
	acct := c.srv.AddAccount(dynamicstest.Record{Name: "Firm", Phones: map[string]string{"telephone1": "+358901"}})
	id := func(n int) string { return fmt.Sprintf("%08d-0000-4000-8000-000000000000", n) }
	call := func(n int) string { return w.call(id(n)) }
	closeCall := `{"statecode":1,"statuscode":4}`
	post := func(body string) string { return "POST " + p + "/phonecalls\n" + body }
	addToQueue := func(n int) string {
		return fmt.Sprintf("POST %s/queues(%s)/Microsoft.Dynamics.CRM.AddToQueue\n{\"Target\":{\"activityid\":\"%s\",\"@odata.type\":\"Microsoft.Dynamics.CRM.phonecall\"}}", p, w.queue, id(n))
	}
	type step struct {
		name   string
		before func()
		parts  []any
		prefer bool
		raw    string // a body sent as it is, instead of parts
	}
	steps := []step{
		{name: "backfill changesets", parts: []any{
			[]string{post(call(1)), "PATCH $1\n" + closeCall},
			[]string{post(call(2)), "PATCH $3\n" + closeCall},
			[]string{post(call(3)), "PATCH $5\n" + `{"statecode":1,"statuscode":2}`},
		}},
		{name: "second request fails, stop", parts: []any{
			[]string{post(call(4)), "PATCH $1\n" + `{"statecode":1,"statuscode":1}`},
			[]string{post(call(5)), "PATCH $3\n" + closeCall},
		}},
		{name: "failures, continue", prefer: true, parts: []any{
			[]string{post(call(4)), "PATCH $1\n" + `{"statecode":1,"statuscode":1}`},
			[]string{post(call(1)), "PATCH $3\n" + closeCall},
			[]string{post(call(5)), addToQueue(5), "PATCH $5\n" + `{"statecode":1,"statuscode":3}`},
			[]string{post(call(6)), addToQueue(6), "PATCH $8\n" + closeCall},
			"GET " + p + "/phonecalls?$select=subject,statecode&$filter=statecode%20eq%201",
			[]string{post(`{"subject":"no id","phonenumber":"+358401234567"}`)},
		}},
		{name: "lone requests", parts: []any{
			"GET " + p + "/WhoAmI",
			"GET https://org.example" + p + "/contacts?$select=fullname,telephone1",
			"GET " + p + "/phonecalls(" + id(1) + ")?$select=subject,statecode,statuscode",
			post(call(7)),
			"PATCH " + p + "/phonecalls(" + id(7) + ")\n" + `{"subject":"renamed"}`,
			"DELETE " + p + "/phonecalls(" + id(7) + ")",
			"GET " + p + "/nosuch",
			"GET /other/path",
		}},
		{name: "lone failure stops", parts: []any{
			"GET " + p + "/phonecalls(" + id(99) + ")",
			"GET " + p + "/WhoAmI",
		}},
		{name: "bodies", prefer: true, parts: []any{
			[]string{post(`{"subject":`)},
			[]string{post(`["not an object"]`)},
			[]string{post(`{"subject":"x","nosuch":1}`)},
			[]string{post(`{"subject":"` + strings.Repeat("s", 201) + `"}`)},
			[]string{post(`{"subject":"x","actualstart":"yesterday"}`)},
			[]string{post(`{"subject":"x","actualdurationminutes":"5"}`)},
			[]string{post(fmt.Sprintf(`{"subject":"x","ownerid@odata.bind":"/systemusers(%s)"}`, w.off))},
			[]string{post(fmt.Sprintf(`{"subject":"x","regardingobjectid_contact_phonecall@odata.bind":"/accounts(%s)"}`, acct))},
			[]string{post(fmt.Sprintf(`{"subject":"x","regardingobjectid_account_phonecall@odata.bind":"/accounts(%s)","regardingobjectid_contact_phonecall@odata.bind":"/contacts(%s)"}`, acct, w.cid))},
			[]string{post(fmt.Sprintf(`{"subject":"x","phonecall_activity_parties":[{"partyid_contact@odata.bind":"/contacts(%s)","participationtypemask":3}]}`, w.cid))},
			[]string{post(`{"@odata.type":"Microsoft.Dynamics.CRM.contact","subject":"x"}`)},
			[]string{post(`{"subject":"x","statecode":1,"statuscode":1,"x@odata.community.note":"ignored"}`)},
		}},
		{name: "references", prefer: true, parts: []any{
			[]string{post(call(8)), "PATCH $1/\n" + closeCall},
			[]string{post(call(9)), "PATCH $7\n" + closeCall},
			[]string{post(call(10)), post(`{"subject":"regarding a call","regardingobjectid_contact_phonecall@odata.bind":"$5"}`)},
			[]string{"PATCH " + p + "/phonecalls(" + id(11) + ")\n" + `{"subject":"upserted"}`, "PATCH $7\n" + closeCall},
		}},
		{name: "preconditions", prefer: true, parts: []any{
			[]string{"PATCH " + p + "/phonecalls(" + id(12) + ")\n" + `{"subject":"x"}`},
			[]string{"PATCH " + p + "/phonecalls(" + id(11) + ")\n" + `{"subject":"closed"}`},
			[]string{"PATCH " + p + "/phonecalls(" + id(11) + ")\n" + `{"statecode":0}`, "PATCH $3\n" + `{"subject":"reopened"}`},
			[]string{"PATCH " + p + "/phonecalls(" + id(11) + ")\n" + `{"activityid":"` + id(13) + `"}`},
		}},
	}
	var b strings.Builder
	ids := map[string]string{}
	run := func(s step) {
		b.WriteString("== " + s.name + "\n")
		ct, body := "multipart/mixed; boundary=batch_t", s.raw
		if s.raw == "" {
			ct, body = batch(s.parts...)
		}
		r := c.batch(ct, body, s.prefer)
		b.WriteString(strings.ReplaceAll(answerTranscript(r, ids), c.srv.URL, "ORG"))
		log := c.srv.Log()
		fmt.Fprintf(&b, "\n-- logged: %+v\n-- stored:\n", log[len(log)-1])
		for _, pc := range c.srv.PhoneCalls() {
			reg := "none"
			if pc.Regarding != nil {
				reg = fmt.Sprintf("%+v", *pc.Regarding)
			}
			pc.Regarding = nil
			b.WriteString(nameGUIDs(fmt.Sprintf("%+v regarding %s\n", pc, reg), ids))
		}
	}
	for _, s := range steps {
		run(s)
	}
	// Header-dependent requests, which the batch helper cannot write.
	hdr := func(method, target, header, body string) string {
		return "--batch_t\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
			method + " " + target + " HTTP/1.1\r\n" + header + "\r\n" + body + "\r\n"
	}
	run(step{name: "headers", prefer: true, raw: hdr("PATCH", p+"/phonecalls("+id(14)+")", "Content-Type: application/json\r\nIf-Match: *\r\n", `{"subject":"x"}`) +
		hdr("PATCH", p+"/phonecalls("+id(1)+")", "Content-Type: application/json\r\nIf-None-Match: *\r\n", `{"subject":"x"}`) +
		hdr("POST", p+"/phonecalls", "Content-Type: text/plain\r\n", `{"subject":"x"}`) +
		hdr("POST", p+"/phonecalls", "Content-Type: application/json\r\nPrefer: return=representation\r\n", fmt.Sprintf(`{"activityid":"%s","subject":"represented","description":"secret"}`, id(15))) +
		hdr("GET", p+"/contacts?$select=fullname,_ownerid_value", "Prefer: odata.include-annotations=\"*\",odata.maxpagesize=1\r\n", "") +
		"--batch_t--\r\n"})

	// The shapes of messy orgs.
	c.srv.AddStatusReason(1, 100000003)
	c.srv.AddColumn("phonecalls", dynamicstest.Column{Name: "new_callid", Type: "String", MaxLength: 10})
	c.srv.DropColumn("phonecalls", "category")
	c.srv.SecureColumn("phonecalls", "description")
	c.srv.RejectQueueParties(true)
	queueParty := fmt.Sprintf(`{"subject":"q","phonecall_activity_parties":[{"partyid_queue@odata.bind":"/queues(%s)","participationtypemask":2}]}`, w.queue)
	run(step{name: "org shapes", prefer: true, parts: []any{
		[]string{post(call(16)), "PATCH $1\n" + `{"statecode":1,"statuscode":100000003}`},
		[]string{post(`{"activityid":"` + id(17) + `","subject":"custom","new_callid":"c-17"}`)},
		[]string{post(`{"subject":"custom","new_callid":"` + strings.Repeat("c", 11) + `"}`)},
		[]string{post(`{"subject":"dropped","category":"x"}`)},
		[]string{post(queueParty)},
		"GET " + p + "/phonecalls(" + id(15) + ")?$select=subject,description",
	}})
	c.srv.RejectQueueParties(false)
	c.srv.DenyPrivilege("prvCreateActivity")
	run(step{name: "denied", prefer: true, parts: []any{
		[]string{post(queueParty)},
		[]string{"PATCH " + p + "/phonecalls(" + id(17) + ")\n" + `{"subject":"patched without create"}`},
	}})
	c.srv.GrantPrivilege("prvCreateActivity")
	run(step{name: "granted", parts: []any{[]string{post(queueParty)}}})

	// Batches refused as a whole.
	run(step{name: "GET in changeset", parts: []any{[]string{post(call(18)), "GET " + p + "/WhoAmI"}}})
	run(step{name: "Content-ID twice", raw: "--batch_t\r\nContent-Type: multipart/mixed; boundary=cs\r\n\r\n" +
		"--cs\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\nPOST " + p + "/phonecalls HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" + call(18) + "\r\n" +
		"--cs\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\nPATCH $1 HTTP/1.1\r\nContent-Type: application/json\r\n\r\n" + closeCall + "\r\n" +
		"--cs--\r\n--batch_t--\r\n"})
	run(step{name: "malformed", raw: "--batch_t\r\nContent-Type: text/plain\r\n\r\nx\r\n--batch_t--\r\n"})

	got := b.String()
	const golden = "testdata/batch_answers.golden"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to record the answers)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("answers differ from %s at line %d:\n got %q\nwant %q", golden, i+1, g, w)
			}
		}
	}
}
