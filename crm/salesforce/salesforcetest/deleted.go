package salesforcetest

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// deletion is a record deleted from the org, kept in the delete log.
type deletion struct {
	id string
	at time.Time
}

// deleteLogDays is how far back sObject Get Deleted answers (15 days,
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm).
const deleteLogDays = 15

// Delete removes a record as a user would; sObject Get Deleted lists it.
func (s *Server) Delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.byID[id]
	if !ok {
		panic("salesforcetest: no record " + id)
	}
	obj := s.objectOf(rec)
	s.unindexed(obj, rec, true)
	delete(s.byID, id)
	recs := s.records[obj]
	for i, r := range recs {
		if r["Id"] == id {
			s.records[obj] = append(recs[:i:i], recs[i+1:]...)
			break
		}
	}
	if s.deleted == nil {
		s.deleted = map[string][]deletion{}
	}
	s.deleted[obj] = append(s.deleted[obj], deletion{id: id, at: s.cfg.Now().UTC()})
}

// getDeleted serves GET /sobjects/<Object>/deleted/?start=&end=: the ids
// deleted in [start, end], seconds ignored, with earliestDateAvailable and
// latestDateCovered (end, to the minute).
func (s *Server) getDeleted(name string, q url.Values) (int, any) {
	o := s.schema[strings.ToLower(name)]
	if o == nil {
		return http.StatusNotFound, errArray("NOT_FOUND", "The requested resource does not exist")
	}
	start, ok1 := parseDateTime(q.Get("start"))
	end, ok2 := parseDateTime(q.Get("end"))
	if !ok1 || !ok2 || !start.Before(end) {
		return http.StatusBadRequest, errArray("INVALID_REPLICATION_DATE", "start and end must be ISO 8601 date-times, start before end")
	}
	now := s.cfg.Now().UTC()
	earliest := now.Add(-deleteLogDays * 24 * time.Hour).Truncate(time.Minute)
	if start.Before(earliest) {
		return http.StatusBadRequest, errArray("INVALID_REPLICATION_DATE", "startDate cannot be more than "+
			"15 days ago")
	}
	start, end = start.Truncate(time.Minute), end.Truncate(time.Minute)
	recs := []map[string]any{}
	for _, d := range s.deleted[o.name] {
		if !d.at.Before(start) && d.at.Before(end) {
			recs = append(recs, map[string]any{"id": d.id, "deletedDate": d.at.Format(sfDateTime)})
		}
	}
	return http.StatusOK, map[string]any{"deletedRecords": recs, "earliestDateAvailable": earliest.Format(sfDateTime),
		"latestDateCovered": end.Format(sfDateTime)}
}
