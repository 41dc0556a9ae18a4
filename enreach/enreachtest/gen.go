package enreachtest

import (
	"time"

	"github.com/callsync/callsync/enreach"
	"github.com/google/uuid"
)

// NewID returns a GUID, as Enreach ids are.
func NewID() string { return uuid.NewString() }

// DirectCall returns a finished direct call of user u with a customer
// number: inbound customer -> u.WorkNumber, outbound the reverse. It rings
// for ring, then talks for talk; talk 0 means unanswered (no AnswerTime,
// EndResult 1, Duration 0). Privacy is Work; change it on the result.
func DirectCall(u enreach.User, customer string, outbound bool, start time.Time, ring, talk time.Duration) enreach.Call {
	start = start.UTC().Truncate(time.Second)
	c := enreach.Call{
		CallID:    NewID(),
		UserID:    u.ID,
		UserName:  u.UserName,
		Outbound:  outbound,
		ANum:      customer,
		BNum:      u.WorkNumber,
		StartTime: start,
		Privacy:   enreach.PrivacyWork,
	}
	if outbound {
		c.ANum, c.BNum = u.WorkNumber, customer
	}
	answer(&c.AnswerTime, &c.EndTime, &c.Duration, &c.EndResult, start, ring, talk)
	c.Modified = c.EndTime
	return c
}

// QueueCall returns a finished queue call of customer to q (BNum the
// queue's first number). With agent non-nil and talk > 0 it was answered
// by agent after waiting wait, and the agent's user call event with the
// same CallId is returned too (a call seen in both sets); otherwise the
// call is unanswered and the event is nil.
func QueueCall(q enreach.Queue, agent *enreach.User, customer string, start time.Time, wait, talk time.Duration) (enreach.ServiceCall, *enreach.Call) {
	start = start.UTC().Truncate(time.Second)
	number := ""
	if len(q.Numbers) > 0 {
		number = q.Numbers[0]
	}
	sc := enreach.ServiceCall{
		CallID:      NewID(),
		QueueID:     q.ID,
		QueueName:   q.Name,
		QueueNumber: number,
		ANum:        customer,
		BNum:        number,
		StartTime:   start,
	}
	if agent == nil {
		talk = 0
	}
	answer(&sc.AnswerTime, &sc.EndTime, &sc.Duration, &sc.EndResult, start, wait, talk)
	sc.Modified = sc.EndTime
	if sc.AnswerTime == nil {
		return sc, nil
	}
	sc.AnsweredByUserID = agent.ID
	at := *sc.AnswerTime // not shared with sc
	leg := enreach.Call{
		CallID:     sc.CallID,
		UserID:     agent.ID,
		UserName:   agent.UserName,
		ANum:       customer,
		BNum:       number,
		StartTime:  at,
		AnswerTime: &at,
		EndTime:    sc.EndTime,
		Duration:   sc.Duration,
		Privacy:    enreach.PrivacyWork,
		QueueID:    q.ID,
		QueueName:  q.Name,
		Modified:   sc.Modified,
	}
	return sc, &leg
}

func answer(answerTime **time.Time, end *time.Time, duration, endResult *int, start time.Time, ring, talk time.Duration) {
	ring = ring.Truncate(time.Second)
	talk = talk.Truncate(time.Second)
	if talk <= 0 {
		*end = start.Add(ring)
		*endResult = 1
		return
	}
	at := start.Add(ring)
	*answerTime = &at
	*end = at.Add(talk)
	*duration = int(talk / time.Second)
}
