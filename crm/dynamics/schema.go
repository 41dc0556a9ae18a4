package dynamics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/callsync/callsync/crm"
)

// Table definitions (metadata) the client adapts to.
//
// GET EntityDefinitions(LogicalName='<table>')/Attributes?$select=... lists a
// table's columns (AttributeMetadata: LogicalName, AttributeType,
// IsValidForRead/Create/Update, IsSecured); casting the collection to
// Microsoft.Dynamics.CRM.StringAttributeMetadata or MemoAttributeMetadata
// adds MaxLength. Metadata queries are not paged
// (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/query-metadata-web-api;
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/retrieve-metadata-name-metadataid).
//
// Column-level security: a secured column still says IsValidForRead, but
// without a field security profile granting Read "the default API behavior
// when returning a value for a secured column is to return no data", which
// the caller cannot tell from an empty value; everyone can read IsSecured
// (https://learn.microsoft.com/power-apps/developer/data-platform/column-level-security).
// The metadata does not say whether the callsync user holds such a profile,
// so a secured phone column counts as unreadable: it could never be checked
// against the caller's number.
//
// An unknown column in $select or $filter is refused with 400, code
// 0x80060888, "Could not find a property named '<col>' on type
// 'Microsoft.Dynamics.CRM.<table>'." (the OData error the Web API returns
// for an undeclared property,
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/compose-http-requests-handle-errors).

const (
	// schemaTTL: table definitions are read again after a day.
	schemaTTL = 24 * time.Hour
	// schemaRetry: after a failed read, the configured columns are used
	// and the read is retried no sooner than this.
	schemaRetry = 10 * time.Minute
	// schemaRefreshTimeout bounds the background daily re-read.
	schemaRefreshTimeout = 2 * time.Minute
	// codeInvalidProperty is the OData error code of an unknown column.
	codeInvalidProperty = "0x80060888"
)

// schemaTables are the tables whose columns callsync reads or writes.
var schemaTables = []string{"contact", "account", "lead", "phonecall", "systemuser"}

const attributeSelect = "LogicalName,AttributeType,IsValidForRead,IsValidForCreate,IsValidForUpdate,IsSecured"

// orgSchema is what the client knows of the org's table definitions.
type orgSchema struct {
	at time.Time
	// tables by logical name; a table absent here and in errs is not in
	// the org (e.g. lead without Dynamics 365 Sales).
	tables map[string]crm.Schema
	// secured columns per table (IsSecured), with their MetadataId.
	secured map[string]map[string]string
	// access is what the user's field security profiles allow on secured
	// columns (RetrievePrincipalAttributePrivileges), by table and column.
	access map[string]map[string]fieldAccess
	// errs holds tables whose definitions could not be read.
	errs map[string]error
}

// fieldAccess is one AttributePrivilege: CanRead / CanCreate are 4 when
// Allowed, 0 when Not Allowed
// (https://learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/attributeprivilege;
// https://learn.microsoft.com/power-apps/developer/data-platform/column-level-security).
type fieldAccess struct{ read, create bool }

const fieldAllowed = 4

// hidden says whether a column is secured and the user has no Read on it.
func (s *orgSchema) hidden(table, col string) bool {
	_, sec := s.secured[table][col]
	return sec && !s.access[table][col].read
}

// column returns a column and whether the table and column exist.
func (s *orgSchema) column(table, col string) (crm.FieldInfo, bool) {
	t, ok := s.tables[table]
	if !ok {
		return crm.FieldInfo{}, false
	}
	f, ok := t.Fields[col]
	return f, ok
}

// hasTable says whether the org has the table; true when unknown.
func (s *orgSchema) hasTable(table string) bool {
	if _, ok := s.tables[table]; ok {
		return true
	}
	_, unknown := s.errs[table]
	return unknown
}

// readProblem says why a column cannot be read and matched ("" if it can).
// A table whose definitions could not be read is given the benefit of the
// doubt.
func (s *orgSchema) readProblem(table, col string) string {
	if _, unknown := s.errs[table]; unknown {
		return ""
	}
	if _, ok := s.tables[table]; !ok {
		return fmt.Sprintf("the org has no %s table", table)
	}
	f, ok := s.column(table, col)
	switch {
	case !ok:
		return fmt.Sprintf("%s.%s does not exist", table, col)
	case s.hidden(table, col):
		return fmt.Sprintf("%s.%s is secured by column-level security and no field security profile gives the callsync user Read on it: Dataverse returns no data for it, which cannot be told from an empty value", table, col)
	case !f.Readable:
		return fmt.Sprintf("%s.%s is not valid for read", table, col)
	}
	return ""
}

// fetchSchema reads the definitions of schemaTables (and the maximum lengths
// of phonecall's text columns) in one $batch.
func (c *Client) fetchSchema(ctx context.Context) (*orgSchema, error) {
	type src struct{ table, cast string }
	var (
		parts []part
		srcs  []src
	)
	get := [][2]string{{"Accept", "application/json"}}
	for _, t := range schemaTables {
		parts = append(parts, part{single: &op{method: http.MethodGet, header: get,
			url: c.api + "/EntityDefinitions(LogicalName='" + t + "')/Attributes?$select=" + attributeSelect}})
		srcs = append(srcs, src{table: t})
	}
	for _, cast := range []string{"StringAttributeMetadata", "MemoAttributeMetadata"} {
		parts = append(parts, part{single: &op{method: http.MethodGet, header: get,
			url: c.api + "/EntityDefinitions(LogicalName='phonecall')/Attributes/Microsoft.Dynamics.CRM." + cast + "?$select=LogicalName,MaxLength"}})
		srcs = append(srcs, src{table: "phonecall", cast: cast})
	}
	res, err := c.batch(ctx, "definitions", parts)
	if err != nil {
		return nil, fmt.Errorf("dynamics: table definitions: %w", err)
	}
	if len(res) != len(parts) {
		return nil, fmt.Errorf("dynamics: table definitions: $batch answered %d of %d requests", len(res), len(parts))
	}
	s := &orgSchema{at: c.now(), tables: map[string]crm.Schema{}, secured: map[string]map[string]string{},
		access: map[string]map[string]fieldAccess{}, errs: map[string]error{}}
	maxLen := map[string]int{}
	for i, r := range res {
		resp := r[len(r)-1]
		sr := srcs[i]
		if resp.status == http.StatusNotFound && sr.cast == "" {
			continue // no such table in this org
		}
		if resp.status != http.StatusOK {
			if _, seen := s.errs[sr.table]; !seen {
				s.errs[sr.table] = parseError(resp.status, resp.body)
			}
			continue
		}
		p, err := decodePage(resp.body)
		if err != nil {
			s.errs[sr.table] = err
			continue
		}
		if sr.cast != "" {
			for _, a := range p.Value {
				if n, err := strconv.Atoi(a.str("MaxLength")); err == nil {
					maxLen[a.str("LogicalName")] = n
				}
			}
			continue
		}
		sch := crm.Schema{Entity: sr.table, Fields: map[string]crm.FieldInfo{}}
		sec := map[string]string{}
		for _, a := range p.Value {
			name := a.str("LogicalName")
			if name == "" {
				continue
			}
			sch.Fields[name] = crm.FieldInfo{Name: name, Type: a.str("AttributeType"),
				Readable: a["IsValidForRead"] == true, Creatable: a["IsValidForCreate"] == true, Updatable: a["IsValidForUpdate"] == true}
			if a["IsSecured"] == true {
				sec[name] = strings.ToLower(a.str("MetadataId"))
			}
		}
		s.tables[sr.table] = sch
		s.secured[sr.table] = sec
	}
	if err := c.fieldAccess(ctx, s); err != nil {
		// Secured columns then count as unreadable.
		c.log.Warn("dynamics: cannot read the user's field security privileges; secured columns count as unreadable", "err", err)
	}
	if pc, ok := s.tables["phonecall"]; ok {
		for name, n := range maxLen {
			if f, ok := pc.Fields[name]; ok {
				f.MaxLength = n
				pc.Fields[name] = f
			}
		}
	}
	return s, nil
}

// fieldAccess fills s.access when the org has secured columns: GET WhoAmI
// (once per client) and the user's
// systemusers(<id>)/Microsoft.Dynamics.CRM.RetrievePrincipalAttributePrivileges(),
// whose AttributePrivileges name columns by their MetadataId. An org without
// secured columns costs no request.
func (c *Client) fieldAccess(ctx context.Context, s *orgSchema) error {
	byID := map[string][2]string{} // MetadataId -> table, column
	for t, cols := range s.secured {
		for col, id := range cols {
			byID[id] = [2]string{t, col}
		}
	}
	if len(byID) == 0 {
		return nil
	}
	uid, err := c.whoAmI(ctx)
	if err != nil {
		return err
	}
	status, _, body, err := c.send(ctx, "metadata", http.MethodGet,
		c.api+"/"+userSet+"("+uid+")/Microsoft.Dynamics.CRM.RetrievePrincipalAttributePrivileges()", nil, nil, 1)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return parseError(status, body)
	}
	var r struct {
		AttributePrivileges []struct {
			AttributeId        string
			CanRead, CanCreate int
		}
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("decoding RetrievePrincipalAttributePrivileges: %w", err)
	}
	for _, p := range r.AttributePrivileges {
		tc, ok := byID[strings.ToLower(p.AttributeId)]
		if !ok {
			continue
		}
		if s.access[tc[0]] == nil {
			s.access[tc[0]] = map[string]fieldAccess{}
		}
		s.access[tc[0]][tc[1]] = fieldAccess{read: p.CanRead == fieldAllowed, create: p.CanCreate == fieldAllowed}
	}
	return nil
}

// whoAmI returns the application user's systemuserid (GET WhoAmI), cached.
func (c *Client) whoAmI(ctx context.Context) (string, error) {
	if id, ok := c.userID.Load().(string); ok && id != "" {
		return id, nil
	}
	status, _, body, err := c.send(ctx, "whoami", http.MethodGet, c.api+"/WhoAmI", nil, nil, 1)
	if err != nil {
		return "", err
	}
	var who struct{ UserId string }
	if status != http.StatusOK || json.Unmarshal(body, &who) != nil || who.UserId == "" {
		return "", fmt.Errorf("WhoAmI: %w", parseError(status, body))
	}
	if _, err := uuid.Parse(who.UserId); err != nil {
		return "", fmt.Errorf("WhoAmI answered UserId %q", who.UserId)
	}
	c.userID.Store(who.UserId)
	return who.UserId, nil
}

// schema returns the table definitions. The first call reads them (the
// caller waits); definitions a day old are still returned while a background
// read replaces them, so a lookup with a short budget (Smart Routing) never
// waits for the daily re-read; force (after an unknown-column error) reads
// them again at once. It returns nil while they cannot be read (the caller
// then uses its configuration as is); a failed read is logged and retried
// after schemaRetry.
func (c *Client) schema(ctx context.Context, force bool) *orgSchema {
	c.schemaMu.Lock()
	defer c.schemaMu.Unlock()
	now := c.now()
	failedRecently := !c.schemaFailedAt.IsZero() && now.Sub(c.schemaFailedAt) < schemaRetry
	if !force {
		switch {
		case c.sch != nil && now.Sub(c.sch.at) < schemaTTL:
			return c.sch
		case c.sch != nil:
			if !c.refreshing && !failedRecently {
				c.refreshing = true
				go c.refreshSchema(context.WithoutCancel(ctx))
			}
			return c.sch
		case failedRecently:
			return nil
		}
	}
	s, err := c.fetchSchema(ctx)
	c.schemaFetched(ctx, s, err)
	return c.sch
}

// refreshSchema is the background daily re-read.
func (c *Client) refreshSchema(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, schemaRefreshTimeout)
	defer cancel()
	s, err := c.fetchSchema(ctx)
	c.schemaMu.Lock()
	defer c.schemaMu.Unlock()
	c.refreshing = false
	c.schemaFetched(ctx, s, err)
}

// schemaFetched records the outcome of a read; schemaMu is held. On failure
// the previous definitions, if any, stay: better than none.
func (c *Client) schemaFetched(ctx context.Context, s *orgSchema, err error) {
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("dynamics: cannot read the table definitions; using the previous ones or the configured columns as they are", "err", err)
			c.schemaFailedAt = c.now()
		}
		return
	}
	c.sch = s
	c.schemaFailedAt = time.Time{}
}

// isInvalidProperty says whether err is Dataverse refusing an unknown column.
func isInvalidProperty(err error) bool {
	var e *Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
		return false
	}
	return e.Code == codeInvalidProperty && (strings.Contains(e.Message, "Could not find a property named") ||
		strings.Contains(e.Message, "does not exist on type"))
}

// warnOnce logs a warning the first time key is seen by this client.
func (c *Client) warnOnce(key, msg string, args ...any) {
	if _, seen := c.warned.LoadOrStore(key, true); !seen {
		c.log.Warn(msg, args...)
	}
}

// searchColumns returns the phone columns to search per entity and the extra
// columns that may be selected, given the org's definitions: a configured
// column that is missing, unreadable or secured is dropped with a warning
// (logged once); an entity with no column left, or whose table the org does
// not have, is skipped. With no definitions (s nil) the configuration is used
// as is.
func (c *Client) searchColumns(s *orgSchema, extra map[crm.Entity][]string) (phones, fields map[crm.Entity][]string) {
	if s == nil {
		return c.phoneFields, extra
	}
	phones = map[crm.Entity][]string{}
	fields = map[crm.Entity][]string{}
	for _, e := range crm.Entities {
		table := string(e)
		configured := c.phoneFields[e]
		if len(configured) == 0 {
			continue
		}
		if !s.hasTable(table) {
			c.warnOnce("table:"+table, "dynamics: the org has no "+table+" table; its records are not searched", "table", table)
			continue
		}
		var keep []string
		for _, f := range configured {
			if p := s.readProblem(table, f); p != "" {
				c.warnOnce("phone:"+table+"."+f, "dynamics: phone column dropped from lookups", "column", table+"."+f, "reason", p)
				continue
			}
			keep = append(keep, f)
		}
		if len(keep) == 0 {
			c.warnOnce("entity:"+table, "dynamics: no phone column left; "+table+" records are not searched", "table", table)
			continue
		}
		phones[e] = keep
		for _, f := range extra[e] {
			if p := s.readProblem(table, f); p != "" {
				c.warnOnce("field:"+table+"."+f, "dynamics: column dropped from lookups (Smart Routing rules on it cannot match)", "column", table+"."+f, "reason", p)
				continue
			}
			if !slices.Contains(fields[e], f) {
				fields[e] = append(fields[e], f)
			}
		}
	}
	return phones, fields
}

// auditColumn returns the maximum length of the configured audit column when
// it can receive a create ("" column when none is configured or usable).
func (c *Client) auditColumn(ctx context.Context, acts []crm.Activity) (string, int) {
	if c.auditField == "" || !slices.ContainsFunc(acts, func(a crm.Activity) bool { return a.Audit != "" }) {
		return "", 0
	}
	s := c.schema(ctx, false)
	if s == nil {
		c.warnOnce("audit:unknown", "dynamics: audit_field not written: its maximum length is unknown until the table definitions can be read", "column", c.auditField)
		return "", 0
	}
	if p := auditProblem(s, c.auditField); p != "" {
		c.warnOnce("audit:"+p, "dynamics: audit_field not written", "column", "phonecall."+c.auditField, "reason", p)
		return "", 0
	}
	f, _ := s.column("phonecall", c.auditField)
	return c.auditField, f.MaxLength
}

// auditProblem says why the audit column cannot receive the audit JSON.
func auditProblem(s *orgSchema, col string) string {
	f, ok := s.column("phonecall", col)
	switch {
	case !ok:
		return fmt.Sprintf("phonecall.%s does not exist", col)
	case f.Type != "String" && f.Type != "Memo":
		return fmt.Sprintf("phonecall.%s is %s, not a text column", col, f.Type)
	case !f.Creatable:
		return fmt.Sprintf("phonecall.%s is not valid for create", col)
	case s.secured["phonecall"][col] != "" && !s.access["phonecall"][col].create:
		return fmt.Sprintf("phonecall.%s is secured by column-level security and no field security profile gives the callsync user Create on it", col)
	case f.MaxLength <= 0:
		return fmt.Sprintf("phonecall.%s has no maximum length in its definition", col)
	}
	return ""
}

// auditMarker ends an audit value cut at the column's maximum length.
const auditMarker = " …[truncated by callsync: %d of %d characters]"

// truncateAudit cuts s to at most max characters, ending with a marker that
// says so.
func truncateAudit(s string, max int) string {
	n := utf8.RuneCountInString(s)
	if n <= max {
		return s
	}
	r := []rune(s)
	for keep := max; keep > 0; keep-- {
		m := fmt.Sprintf(auditMarker, keep, n)
		if keep+len([]rune(m)) <= max {
			return string(r[:keep]) + m
		}
	}
	return string(r[:max])
}
