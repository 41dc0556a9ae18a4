package zoho

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/callsync/callsync/crm"
)

// rowKey is the callsync key a record carries. callsync marks what it writes
// with the Enreach id: call_id_field (a callback's as "callback/<id>", see
// externalCallID), the marker line of Description (see marker) and, in a
// custom module, CCSPCallID. Zoho holds no tenant, so the key is rebuilt
// with the tenant of the queries' keys (the query's own key when the ids
// agree). A record without any of them (logged by a person) has none.
func rowKey(row coqlRow, fields []string, qs []crm.ActivityQuery) string {
	kind, id := crm.Kind(""), ""
	for _, f := range fields {
		v := strings.TrimSpace(rowString(row[f]))
		switch {
		case v == "":
		case f == fDescription:
			for _, l := range strings.Split(v, "\n") {
				l = strings.TrimSpace(l)
				if rest, ok := strings.CutPrefix(l, markerCall); ok && rest != "" {
					kind, id = crm.KindCall, rest
				} else if rest, ok := strings.CutPrefix(l, markerCallback); ok && rest != "" {
					kind, id = crm.KindCallback, rest
				}
			}
		case f == cfCallID:
			kind, id = crm.KindCall, v
		default: // call_id_field
			if rest, ok := strings.CutPrefix(v, "callback/"); ok {
				kind, id = crm.KindCallback, rest
			} else {
				kind, id = crm.KindCall, v
			}
		}
	}
	if id == "" {
		return ""
	}
	tenant := ""
	for _, q := range qs {
		t, k, qid, ok := crm.ParseKey(q.Key)
		if !ok {
			continue
		}
		if k == kind && strings.EqualFold(qid, id) {
			return q.Key
		}
		tenant = t
	}
	return crm.Key(tenant, kind, id)
}

// FindActivities returns existing calls with a queried number starting in
// the queried range. In the Calls module the customer's number is in
// Caller_ID (inbound) or Dialled_Number (outbound), see mapping.go
// appendCallRecord; in a custom module it is PhoneNumber with StartTime. One COQL
// query covers up to 100 numbers over the union of their ranges; rows are
// then matched to each query exactly. ExistingActivity.Key: see rowKey.
func (c *Client) FindActivities(ctx context.Context, qs []crm.ActivityQuery) ([]crm.ExistingActivity, error) {
	module, numFields, startField := callsModule, []string{fCallerID, fDialledNumber}, fCallStartTime
	keyFields := []string{fDescription}
	if f := c.cfg.CallIDField; f != "" {
		keyFields = append(keyFields, f)
	}
	if c.module != "" && c.module != callsModule {
		module, numFields, startField = c.module, []string{cfPhoneNumber}, cfStartTime
		keyFields = []string{cfCallID}
	}
	valid := make([]crm.ActivityQuery, 0, len(qs))
	for _, q := range qs {
		if _, ok := literal(q.Number); ok && !q.To.Before(q.From) {
			valid = append(valid, q)
		}
	}
	var out []crm.ExistingActivity
	seen := map[string]bool{}
	// Up to 23 in-lists (the range takes two of the 25 criteria) of 100
	// numbers each per query.
	perQuery := max(1, (coqlMaxCriteria-2)/len(numFields)) * coqlInValues
	chunks := chunkByNumbers(valid, perQuery)
	fields := append([]string{"id", startField}, numFields...)
	fields = append(fields, keyFields...)
	qs2 := make([]coqlQuery, len(chunks))
	for i, chunk := range chunks {
		var lits []string
		from, to := chunk[0].From, chunk[0].To
		for _, q := range chunk {
			lit, _ := literal(q.Number)
			lits = append(lits, lit)
			if q.From.Before(from) {
				from = q.From
			}
			if q.To.After(to) {
				to = q.To
			}
		}
		lits = dedupe(lits)
		var byNumber []criterion
		for _, f := range numFields {
			byNumber = append(byNumber, inCriteria(f, lits)...)
		}
		fromLit, _ := literal(formatTime(from))
		toLit, _ := literal(formatTime(to.Add(time.Second - 1)))
		qs2[i] = coqlQuery{where: group("and", []criterion{
			group("or", byNumber),
			group("and", []criterion{criterion(startField + " >= " + fromLit), criterion(startField + " <= " + toLit)}),
		}), hint: len(lits) * 5}
	}
	// The chunks' queries run concurrently; rows are matched in chunk order,
	// as asking them one by one would.
	rows, err := c.coqlAll(ctx, fields, module, qs2)
	if err != nil {
		return nil, fmt.Errorf("zoho: find activities: %w", err)
	}
	for i, chunk := range chunks {
		for _, row := range rows[i] {
			st, err := time.Parse(time.RFC3339, rowString(row[startField]))
			if err != nil {
				continue
			}
			st = st.UTC()
			id := rowString(row["id"])
			for _, q := range chunk {
				if st.Before(q.From.Truncate(time.Second)) || st.After(q.To) {
					continue
				}
				for _, f := range numFields {
					if strings.TrimSpace(rowString(row[f])) == q.Number && !seen[id+"\x00"+q.Number] {
						seen[id+"\x00"+q.Number] = true
						out = append(out, crm.ExistingActivity{ID: id, Number: q.Number, Start: st, Key: rowKey(row, keyFields, chunk)})
					}
				}
			}
		}
	}
	return out, nil
}

// chunkByNumbers splits qs, in order, into runs of queries with at most
// perQuery distinct numbers each. The runs are slices of qs, not copies,
// and the set of a run's numbers is cleared for the next run instead of
// made again.
func chunkByNumbers(qs []crm.ActivityQuery, perQuery int) [][]crm.ActivityQuery {
	var chunks [][]crm.ActivityQuery
	nums := make(map[string]bool, min(len(qs), perQuery))
	start := 0
	for i, q := range qs {
		if !nums[q.Number] && len(nums) == perQuery {
			chunks = append(chunks, qs[start:i:i])
			start = i
			clear(nums)
		}
		nums[q.Number] = true
	}
	if start < len(qs) {
		chunks = append(chunks, qs[start:len(qs):len(qs)])
	}
	return chunks
}
