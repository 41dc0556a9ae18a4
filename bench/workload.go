package main

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/phone"
)

// The workload: an organisation with agents and one service queue, a CRM
// holding its customers (one contact per number, phone values stored in the
// formats people type), and calls between them. Known customers make most
// calls; the rest come from numbers the CRM does not hold (unresolved, not
// written). Every generated call passes the default filters with
// process_service_calls on, so the expected number of written activities
// is the number of calls from known customers.
const (
	agentCount = 50
	// unknownShare is the fraction of calls from numbers not in the CRM.
	unknownShare = 0.10
	// queueShare is the fraction of calls that came through the queue
	// (a service call plus the answering agent's call event, one call).
	queueShare = 0.30
)

// company is the organisation of the workload: its agents (also CRM users,
// matched by e-mail), its service queue and its customers' numbers.
type company struct {
	agents    []enreach.User
	queue     enreach.Queue
	customers []string // E.164
}

// newCompany returns a company with agentCount agents and customers
// customer numbers (+35840..., distinct from the agents' +358201...).
func newCompany(customers int) company {
	o := company{queue: enreach.Queue{ID: enreachtest.NewID(), Name: "Sales", Numbers: []string{"+358201230000"}}}
	for i := range agentCount {
		o.agents = append(o.agents, enreach.User{
			ID: enreachtest.NewID(), UserName: fmt.Sprintf("agent%02d@bench.example", i),
			FirstName: "Agent", LastName: fmt.Sprint(i), WorkNumber: fmt.Sprintf("+35820100%04d", i),
		})
	}
	for i := range customers {
		o.customers = append(o.customers, fmt.Sprintf("+35840%07d", 1000000+i))
	}
	return o
}

// storedForm is how customer i's number is stored in the CRM: E.164,
// international with spaces, or national, in turn.
func storedForm(e164 string, i int) string {
	n, ok := phone.Normalize(e164, "FI")
	if !ok {
		return e164
	}
	forms := phone.Forms(n)
	k := []int{0, 1, 2}[i%3]
	if k >= len(forms) {
		return e164
	}
	return forms[k]
}

// seedCRM adds the agents as CRM users and the customers as contacts.
func (o company) seedCRM(c org) {
	for _, a := range o.agents {
		c.AddUser(a.UserName, a.FirstName+" "+a.LastName)
	}
	for i, n := range o.customers {
		c.AddCustomer(fmt.Sprintf("Customer %d", i), storedForm(n, i))
	}
}

// seedEnreach adds the agents and the queue to an Enreach double.
func (o company) seedEnreach(en *enreachtest.Server) {
	en.AddUsers(o.agents...)
	en.AddQueues(o.queue)
}

// callSet is generated calls ready for an Enreach double.
type callSet struct {
	calls   []enreach.Call
	service []enreach.ServiceCall
	n       int // logical calls
	// known is the number of calls from CRM customers: the expected writes.
	known int
	// ends are the calls' end times (steady state latency).
	ends []time.Time
}

func (cs *callSet) add(en *enreachtest.Server) {
	en.AddCalls(cs.calls...)
	en.AddServiceCalls(cs.service...)
}

// genCall appends one finished, answered call starting at at, or ending at
// at when atEnd. A known caller is customer, or a random customer when
// customer is "".
func (o company) genCall(rng *rand.Rand, cs *callSet, at time.Time, atEnd bool, customer string) {
	agent := o.agents[rng.IntN(len(o.agents))]
	switch {
	case rng.Float64() < unknownShare:
		customer = fmt.Sprintf("+35850%07d", rng.IntN(9_000_000)+1_000_000)
	case customer == "":
		customer = o.customers[rng.IntN(len(o.customers))]
		cs.known++
	default:
		cs.known++
	}
	ring := time.Duration(5+rng.IntN(20)) * time.Second
	talk := time.Duration(30+rng.IntN(600)) * time.Second
	start := at
	if atEnd {
		start = at.Truncate(time.Second).Add(-ring - talk)
	}
	if rng.Float64() < queueShare {
		sc, leg := enreachtest.QueueCall(o.queue, &agent, customer, start, ring, talk)
		cs.service = append(cs.service, sc)
		cs.calls = append(cs.calls, *leg)
		cs.ends = append(cs.ends, sc.EndTime)
	} else {
		c := enreachtest.DirectCall(agent, customer, rng.IntN(2) == 0, start, ring, talk)
		cs.calls = append(cs.calls, c)
		cs.ends = append(cs.ends, c.EndTime)
	}
	cs.n++
}

// backfillCalls spreads n calls over the days before `to` (midnight UTC),
// inside business hours 08:00-18:00 so no call crosses a day boundary.
func (o company) backfillCalls(rng *rand.Rand, n, days int, to time.Time) *callSet {
	cs := &callSet{}
	from := to.AddDate(0, 0, -days)
	for range n {
		day := from.AddDate(0, 0, rng.IntN(days))
		start := day.Add(8*time.Hour + time.Duration(rng.Int64N(int64(10*time.Hour))))
		o.genCall(rng, cs, start, false, "")
	}
	return cs
}
