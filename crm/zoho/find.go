package zoho

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/callsync/callsync/crm"
)

// FindActivities returns existing calls with a queried number starting in
// the queried range. In the Calls module the customer's number is in
// Caller_ID (inbound) or Dialled_Number (outbound), see mapping.go
// callRecord; in a custom module it is PhoneNumber with StartTime. One COQL
// query covers up to 100 numbers over the union of their ranges; rows are
// then matched to each query exactly.
func (c *Client) FindActivities(ctx context.Context, qs []crm.ActivityQuery) ([]crm.ExistingActivity, error) {
	module, numFields, startField := callsModule, []string{fCallerID, fDialledNumber}, fCallStartTime
	if c.module != "" && c.module != callsModule {
		module, numFields, startField = c.module, []string{cfPhoneNumber}, cfStartTime
	}
	var valid []crm.ActivityQuery
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
	var chunks [][]crm.ActivityQuery
	{
		var cur []crm.ActivityQuery
		nums := map[string]bool{}
		for _, q := range valid {
			if !nums[q.Number] && len(nums) == perQuery {
				chunks = append(chunks, cur)
				cur, nums = nil, map[string]bool{}
			}
			nums[q.Number] = true
			cur = append(cur, q)
		}
		if len(cur) > 0 {
			chunks = append(chunks, cur)
		}
	}
	for _, chunk := range chunks {
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
		where := group("and", []criterion{
			group("or", byNumber),
			group("and", []criterion{criterion(startField + " >= " + fromLit), criterion(startField + " <= " + toLit)}),
		})
		fields := append([]string{"id", startField}, numFields...)
		err := c.coql(ctx, fields, module, where, len(lits)*5, func(row coqlRow) {
			st, err := time.Parse(time.RFC3339, rowString(row[startField]))
			if err != nil {
				return
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
						out = append(out, crm.ExistingActivity{ID: id, Number: q.Number, Start: st})
					}
				}
			}
		})
		if err != nil {
			return nil, fmt.Errorf("zoho: find activities: %w", err)
		}
	}
	return out, nil
}
