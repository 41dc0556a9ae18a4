package zohotest

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ListPerPage is the largest per_page of GET /{module}; DiscreteLimit the
// records reachable with page numbers alone (page 1-10 x 200); past it a
// page_token is required (https://github.com/zoho/crm-oas v8.0
// record/operations/getRecords).
const (
	ListPerPage   = 200
	DiscreteLimit = 2000
)

// pageToken is a next_page_token handed out: it continues one listing and
// is bound to its parameters.
type pageToken struct {
	params  string
	offset  int
	expires time.Time
}

type deletedRecord struct {
	id string
	at time.Time
}

// DeleteRecord deletes a record as a user would (to the recycle bin); GET
// /{module}/deleted lists it from then on.
func (s *Server) DeleteRecord(moduleName, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modules[moduleName]
	if m == nil || m.records[id] == nil {
		panic("zohotest: DeleteRecord: no record " + moduleName + "/" + id)
	}
	delete(m.records, id)
	for i, x := range m.order {
		if x == id {
			m.order = append(m.order[:i:i], m.order[i+1:]...)
			break
		}
	}
	m.changed()
	if s.deleted == nil {
		s.deleted = map[string][]deletedRecord{}
	}
	s.deleted[moduleName] = append(s.deleted[moduleName], deletedRecord{id: id, at: s.now().UTC()})
}

// UpdateRecord changes text fields of a record as a user editing it would
// (Modified_Time moves).
func (s *Server) UpdateRecord(moduleName, id string, fields map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.modules[moduleName]
	if m == nil || m.records[id] == nil {
		panic("zohotest: UpdateRecord: no record " + moduleName + "/" + id)
	}
	for k, v := range fields {
		if v == "" {
			delete(m.records[id], k)
		} else {
			m.records[id][k] = v
		}
	}
	m.records[id]["Modified_Time"] = s.now()
	m.changed()
}

// handleList serves GET /{module}?fields=&per_page=&page=&page_token=&sort_by=&sort_order=.
func (s *Server) handleList(name string, q url.Values) (int, any, *apiError) {
	m := s.modules[name]
	if m == nil {
		return 0, nil, &apiError{status: 400, code: "INVALID_MODULE", message: "the module name given seems to be invalid",
			details: map[string]any{"resource_path_index": 0}}
	}
	invalid := func(param string) *apiError {
		return &apiError{status: 400, code: "INVALID_DATA", message: "invalid data", details: map[string]any{"param_name": param}}
	}
	if q.Get("fields") == "" {
		return 0, nil, &apiError{status: 400, code: "REQUIRED_PARAM_MISSING", message: "One of the expected parameter is missing",
			details: map[string]any{"param_name": "fields"}}
	}
	fields := strings.Split(q.Get("fields"), ",")
	for _, f := range fields {
		if f != "id" && m.fields[f] == nil {
			return 0, nil, invalid("fields")
		}
	}
	perPage := ListPerPage
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > ListPerPage {
			return 0, nil, invalid("per_page")
		}
		perPage = n
	}
	sortBy, sortOrder := q.Get("sort_by"), q.Get("sort_order")
	if sortBy == "" {
		sortBy = "id"
	}
	if sortOrder == "" {
		sortOrder = "desc"
	}
	if sortBy != "id" && sortBy != "Created_Time" && sortBy != "Modified_Time" {
		return 0, nil, &apiError{status: 400, code: "INVALID_DATA", message: "invalid data",
			details: map[string]any{"param_name": "sort_by", "supported_values": []string{"id", "Created_Time", "Modified_Time"}}}
	}
	if sortOrder != "asc" && sortOrder != "desc" {
		return 0, nil, invalid("sort_order")
	}
	bound := url.Values{}
	for k, v := range q {
		if k != "page_token" && k != "page" {
			bound[k] = v
		}
	}
	params := bound.Encode()
	page, offset := 1, 0
	if tok := q.Get("page_token"); tok != "" {
		pt, ok := s.pageTokens[tok]
		switch {
		case !ok || pt.params != params || q.Get("page") != "":
			return 0, nil, &apiError{status: 400, code: "TOKEN_BOUND_DATA_MISMATCH",
				message: "The page_token given seems to be invalid or input param is added or altered or deleted",
				details: map[string]any{"param_name": "page_token"}}
		case !s.now().Before(pt.expires):
			return 0, nil, &apiError{status: 400, code: "EXPIRED_VALUE", message: "the page token has expired",
				details: map[string]any{"api_name": "page_token", "json_path": "page_token"}}
		}
		offset = pt.offset
		page = offset/perPage + 1
	} else if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, nil, invalid("page")
		}
		page, offset = n, (n-1)*perPage
		if offset+perPage > DiscreteLimit {
			return 0, nil, &apiError{status: 400, code: "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
				message: "You can only get the first 2000 records without using page_token param", details: map[string]any{"limit": DiscreteLimit}}
		}
	}
	ids := append([]string(nil), m.order...)
	sort.SliceStable(ids, func(i, j int) bool {
		a, b := m.records[ids[i]], m.records[ids[j]]
		var less bool
		switch sortBy {
		case "id":
			less = ids[i] < ids[j]
		default:
			ta, _ := a[sortBy].(time.Time)
			tb, _ := b[sortBy].(time.Time)
			less = ta.Before(tb) || ta.Equal(tb) && ids[i] < ids[j]
		}
		if sortOrder == "desc" {
			return !less && ids[i] != ids[j]
		}
		return less
	})
	if offset >= len(ids) {
		return http.StatusNoContent, nil, nil
	}
	end := min(offset+perPage, len(ids))
	data := make([]map[string]any, 0, end-offset)
	for _, id := range ids[offset:end] {
		full := s.renderRecord(id, m.records[id])
		row := map[string]any{"id": id}
		for _, f := range fields {
			if v, ok := full[f]; ok {
				row[f] = v
			} else {
				row[f] = nil
			}
		}
		data = append(data, row)
	}
	more := end < len(ids)
	info := map[string]any{"per_page": perPage, "count": len(data), "page": page, "more_records": more,
		"sort_by": sortBy, "sort_order": sortOrder, "call": false, "email": false,
		"next_page_token": nil, "previous_page_token": nil, "page_token_expiry": nil}
	if more {
		if s.pageTokens == nil {
			s.pageTokens = map[string]pageToken{}
		}
		s.seq++
		tok := fmt.Sprintf("c8582%08dx9e7c7", s.seq)
		exp := s.now().Add(24 * time.Hour)
		s.pageTokens[tok] = pageToken{params: params, offset: end, expires: exp}
		info["next_page_token"] = tok
		info["page_token_expiry"] = exp.In(s.tz).Format(zohoLayout)
	}
	return http.StatusOK, map[string]any{"data": data, "info": info}, nil
}

// handleDeleted serves GET /{module}/deleted?type=&page=&per_page= with
// If-Modified-Since.
func (s *Server) handleDeleted(name string, q url.Values, since string) (int, any, *apiError) {
	if s.modules[name] == nil {
		return 0, nil, &apiError{status: 400, code: "INVALID_MODULE", message: "the module name given seems to be invalid",
			details: map[string]any{"resource_path_index": 0}}
	}
	var from time.Time
	if since != "" {
		t, err := time.Parse(time.RFC3339, since)
		if err != nil {
			return 0, nil, &apiError{status: 400, code: "INVALID_DATA", message: "invalid data", details: map[string]any{"param_name": "If-Modified-Since"}}
		}
		from = t
	}
	perPage, page := ListPerPage, 1
	if v := q.Get("per_page"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= ListPerPage {
			perPage = n
		}
	}
	if v := q.Get("page"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 {
			page = n
		}
	}
	var sel []deletedRecord
	for _, d := range s.deleted[name] {
		if !d.at.Before(from) {
			sel = append(sel, d)
		}
	}
	off := (page - 1) * perPage
	if off >= len(sel) {
		return http.StatusNoContent, nil, nil
	}
	end := min(off+perPage, len(sel))
	data := make([]map[string]any, 0, end-off)
	for _, d := range sel[off:end] {
		data = append(data, map[string]any{"id": d.id, "display_name": nil, "type": "recycle",
			"deleted_time": d.at.In(s.tz).Format(zohoLayout), "deleted_by": map[string]any{"name": "Admin", "id": s.adminID},
			"created_by": map[string]any{"name": "Admin", "id": s.adminID}})
	}
	return http.StatusOK, map[string]any{"data": data, "info": map[string]any{"per_page": perPage, "count": len(data), "page": page, "more_records": end < len(sel)}}, nil
}
