package zoho

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/callsync/callsync/crm"
)

// phonesPerPage is the largest per_page of GET /{module} and of
// GET /{module}/deleted (200, https://github.com/zoho/crm-oas v8.0
// record/operations/getRecords and getDeletedRecords).
const phonesPerPage = 200

// countryFields is the address country field read per module to parse its
// phone values (standard fields of Contacts, Accounts and Leads).
var countryFields = map[crm.Entity]string{crm.Contact: "Mailing_Country", crm.Account: "Billing_Country", crm.Lead: "Country"}

var _ crm.PhoneLister = (*Client)(nil)

// ListPhones implements crm.PhoneLister with GET /{module}?fields=... : 200
// records a page, sorted by id (a full load) or by Modified_Time descending
// (incremental, read until a record older than Since). Every page after the
// first is asked with the next_page_token of the previous one and the same
// other parameters (Zoho refuses page past 10, i.e. 2,000 records, without a
// page token, DISCRETE_PAGINATION_LIMIT_EXCEEDED, and a token whose
// parameters changed, TOKEN_BOUND_DATA_MISMATCH; https://github.com/zoho/crm-oas
// v8.0 record/operations/getRecords).
func (c *Client) ListPhones(ctx context.Context, req crm.PhoneListRequest) (crm.PhonePage, error) {
	var m searchModule
	found := false
	for _, s := range c.search {
		if s.Entity == req.Entity {
			m, found = s, true
		}
	}
	if !found {
		return crm.PhonePage{}, nil // the entity is not searched
	}
	phones, _, err := c.visibleFields(ctx, m.Name, m.PhoneFields)
	if err != nil {
		return crm.PhonePage{}, fmt.Errorf("zoho: list phones %s: %w", m.Name, err)
	}
	if len(phones) == 0 {
		return crm.PhonePage{}, nil
	}
	want := []string{fOwner, fModifiedTime}
	if m.ParentField != "" {
		want = append(want, m.ParentField)
	}
	if cf := countryFields[req.Entity]; cf != "" {
		want = append(want, cf)
	}
	more, _, err := c.visibleFields(ctx, m.Name, want)
	if err != nil {
		return crm.PhonePage{}, fmt.Errorf("zoho: list phones %s: %w", m.Name, err)
	}
	fields := dedupe(append(append([]string{"id"}, phones...), more...))
	q := url.Values{}
	q.Set("fields", strings.Join(fields, ","))
	q.Set("per_page", strconv.Itoa(phonesPerPage))
	if req.Since.IsZero() {
		q.Set("sort_by", "id")
		q.Set("sort_order", "asc")
	} else {
		q.Set("sort_by", fModifiedTime)
		q.Set("sort_order", "desc")
	}
	if req.Page != "" {
		q.Set("page_token", req.Page)
	}
	out := crm.PhonePage{Requests: 1}
	resp, err := c.do(ctx, http.MethodGet, "/"+url.PathEscape(m.Name), q, nil)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) && (ae.Code == "EXPIRED_VALUE" || ae.Code == "TOKEN_BOUND_DATA_MISMATCH") && req.Page != "" {
			err = fmt.Errorf("%w: %w", crm.ErrPageExpired, err)
		}
		return out, fmt.Errorf("zoho: list phones %s: %w", m.Name, err)
	}
	if resp.status == http.StatusNoContent || len(resp.body) == 0 {
		return out, nil
	}
	var ans struct {
		Data []coqlRow `json:"data"`
		Info struct {
			MoreRecords   bool   `json:"more_records"`
			NextPageToken string `json:"next_page_token"`
		} `json:"info"`
	}
	if err := json.Unmarshal(resp.body, &ans); err != nil {
		return out, fmt.Errorf("zoho: list phones %s: decode answer: %w", m.Name, err)
	}
	older := false
	for _, row := range ans.Data {
		id := rowString(row["id"])
		mod, err := time.Parse(time.RFC3339, rowString(row[fModifiedTime]))
		if id == "" || err != nil {
			out.Skipped++
			continue
		}
		if !req.Since.IsZero() && mod.Before(req.Since) {
			older = true // sorted newest first: the rest is older still
			break
		}
		r := crm.PhoneRecord{Ref: crm.Ref{Entity: req.Entity, ID: id}, Modified: mod.UTC(), OwnerID: rowID(row[fOwner]),
			Country: rowString(row[countryFields[req.Entity]]), Phones: map[string]string{}}
		if m.ParentField != "" {
			r.ParentAccountID = rowID(row[m.ParentField])
		}
		for _, f := range phones {
			if v := rowString(row[f]); v != "" {
				r.Phones[f] = v
			}
		}
		out.Records = append(out.Records, r)
	}
	if ans.Info.MoreRecords && !older {
		if ans.Info.NextPageToken == "" {
			return out, fmt.Errorf("zoho: list phones %s: more records but no next_page_token", m.Name)
		}
		out.Next = ans.Info.NextPageToken
	}
	return out, nil
}

// DeletedRecords implements crm.PhoneLister with GET /{module}/deleted
// ?type=all&per_page=200&page=N and the If-Modified-Since header (ISO 8601),
// which lists records in the recycle bin and permanently deleted ones
// (https://github.com/zoho/crm-oas v8.0 record/operations/getDeletedRecords).
// The page token is the next page number.
func (c *Client) DeletedRecords(ctx context.Context, req crm.DeletedRequest) (crm.DeletedPage, error) {
	var m searchModule
	found := false
	for _, s := range c.search {
		if s.Entity == req.Entity {
			m, found = s, true
		}
	}
	if !found {
		return crm.DeletedPage{}, nil
	}
	page := 1
	if req.Page != "" {
		n, err := strconv.Atoi(req.Page)
		if err != nil || n < 1 {
			return crm.DeletedPage{}, fmt.Errorf("zoho: deleted %s: page %q: %w", m.Name, req.Page, crm.ErrPageExpired)
		}
		page = n
	}
	q := url.Values{}
	q.Set("type", "all")
	q.Set("per_page", strconv.Itoa(phonesPerPage))
	q.Set("page", strconv.Itoa(page))
	h := http.Header{}
	if !req.Since.IsZero() {
		h.Set("If-Modified-Since", req.Since.UTC().Format(time.RFC3339))
	}
	out := crm.DeletedPage{Requests: 1}
	resp, err := c.doHeader(ctx, http.MethodGet, "/"+url.PathEscape(m.Name)+"/deleted", q, h)
	if err != nil {
		return out, fmt.Errorf("zoho: deleted %s: %w", m.Name, err)
	}
	if resp.status == http.StatusNoContent || resp.status == http.StatusNotModified || len(resp.body) == 0 {
		return out, nil
	}
	var ans struct {
		Data []struct {
			ID          json.RawMessage `json:"id"`
			DeletedTime string          `json:"deleted_time"`
		} `json:"data"`
		Info struct {
			MoreRecords bool `json:"more_records"`
		} `json:"info"`
	}
	if err := json.Unmarshal(resp.body, &ans); err != nil {
		return out, fmt.Errorf("zoho: deleted %s: decode answer: %w", m.Name, err)
	}
	for _, d := range ans.Data {
		if id := rowString(d.ID); id != "" {
			out.IDs = append(out.IDs, id)
		}
	}
	if ans.Info.MoreRecords {
		out.Next = strconv.Itoa(page + 1)
	}
	return out, nil
}
