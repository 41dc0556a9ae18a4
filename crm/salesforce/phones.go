package salesforce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/callsync/callsync/crm"
)

// countryFields is the address country field read per object to parse its
// phone values: the mailing address of a Contact, the billing address of an
// Account, a Lead's address (standard fields, Salesforce Object Reference:
// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_contact.htm).
var countryFields = map[crm.Entity]string{crm.Contact: "MailingCountry", crm.Account: "BillingCountry", crm.Lead: "Country"}

var _ crm.PhoneLister = (*Client)(nil)

// ListPhones implements crm.PhoneLister with one SOQL query per listing:
// Id, OwnerId, the contact's AccountId, the address country, SystemModstamp
// and the visible phone fields, ordered by Id (incremental: WHERE
// SystemModstamp >= since, the stamp that moves on every change, system ones
// included). Pages are Salesforce's own (up to 2,000 records); the page token
// is the nextRecordsUrl, which Salesforce answers with INVALID_QUERY_LOCATOR
// once the cursor expired (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm).
func (c *Client) ListPhones(ctx context.Context, req crm.PhoneListRequest) (crm.PhonePage, error) {
	o, ok := sobjects[req.Entity]
	if !ok {
		return crm.PhonePage{}, fmt.Errorf("salesforce: list phones: unknown entity %q", req.Entity)
	}
	var out crm.PhonePage
	err := c.withSchema(ctx, func(a adaptation) error {
		phones := a.phones[req.Entity]
		if len(phones) == 0 {
			return nil // the object is not searched in this org
		}
		country := countryFields[req.Entity]
		if !a.visible(o.name, country) {
			country = ""
		}
		path := req.Page
		if path == "" {
			sel := []string{"Id", "OwnerId", "SystemModstamp"}
			if o.parent != "" {
				sel = append(sel, o.parent)
			}
			if country != "" {
				sel = append(sel, country)
			}
			sel = append(sel, phones...)
			q := "SELECT " + strings.Join(sel, ", ") + " FROM " + o.name
			if !req.Since.IsZero() {
				q += " WHERE SystemModstamp >= " + req.Since.UTC().Format("2006-01-02T15:04:05Z")
			}
			path = "/query?q=" + url.QueryEscape(q+" ORDER BY Id")
		} else if !strings.HasPrefix(path, dataPath) {
			return fmt.Errorf("nextRecordsUrl %q is not a query path", path)
		}
		var p queryPage
		out = crm.PhonePage{Requests: 1}
		if err := c.do(ctx, http.MethodGet, path, nil, &p); err != nil {
			var ae *APIError
			if errors.As(err, &ae) && ae.Code() == "INVALID_QUERY_LOCATOR" {
				return fmt.Errorf("%w: %w", crm.ErrPageExpired, err)
			}
			return err
		}
		for _, raw := range p.Records {
			var rec map[string]any
			if err := json.Unmarshal(raw, &rec); err != nil {
				out.Skipped++
				continue
			}
			id := str(rec, "Id")
			mod, err := time.Parse("2006-01-02T15:04:05.000-0700", str(rec, "SystemModstamp"))
			if id == "" || err != nil {
				out.Skipped++
				continue
			}
			r := crm.PhoneRecord{Ref: crm.Ref{Entity: req.Entity, ID: id}, Modified: mod.UTC(), OwnerID: str(rec, "OwnerId"),
				Phones: map[string]string{}}
			if o.parent != "" {
				r.ParentAccountID = str(rec, o.parent)
			}
			if country != "" {
				r.Country = str(rec, country)
			}
			for _, f := range phones {
				if v := str(rec, f); v != "" {
					r.Phones[f] = v
				}
			}
			out.Records = append(out.Records, r)
		}
		if !p.Done {
			out.Next = p.NextRecordsURL
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("salesforce: list phones %s: %w", req.Entity, err)
	}
	return out, nil
}

// DeletedRecords implements crm.PhoneLister with sObject Get Deleted,
// GET /sobjects/<Object>/deleted/?start=&end= (UTC, ISO 8601; at most 15 days
// back; the answer's latestDateCovered is the next start,
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_getdeleted.htm).
// A start more than 15 days back is answered crm.ErrDeletedTooOld without
// a request: only a full load finds those deletions.
func (c *Client) DeletedRecords(ctx context.Context, req crm.DeletedRequest) (crm.DeletedPage, error) {
	o, ok := sobjects[req.Entity]
	if !ok {
		return crm.DeletedPage{}, fmt.Errorf("salesforce: deleted records: unknown entity %q", req.Entity)
	}
	end := c.now().UTC()
	start := req.Since.UTC()
	if start.IsZero() || end.Sub(start) > 15*24*time.Hour-time.Minute {
		return crm.DeletedPage{}, fmt.Errorf("salesforce: deleted %s since %s: %w", o.name, start.Format(time.RFC3339), crm.ErrDeletedTooOld)
	}
	v := url.Values{}
	v.Set("start", start.Format("2006-01-02T15:04:05Z"))
	v.Set("end", end.Format("2006-01-02T15:04:05Z"))
	var ans struct {
		DeletedRecords []struct {
			ID          string `json:"id"`
			DeletedDate string `json:"deletedDate"`
		} `json:"deletedRecords"`
		EarliestDateAvailable string `json:"earliestDateAvailable"`
		LatestDateCovered     string `json:"latestDateCovered"`
	}
	out := crm.DeletedPage{Requests: 1}
	if err := c.do(ctx, http.MethodGet, "/sobjects/"+o.name+"/deleted/?"+v.Encode(), nil, &ans); err != nil {
		return out, fmt.Errorf("salesforce: deleted %s: %w", o.name, err)
	}
	for _, d := range ans.DeletedRecords {
		if d.ID != "" {
			out.IDs = append(out.IDs, d.ID)
		}
	}
	if t, err := time.Parse("2006-01-02T15:04:05.000-0700", ans.LatestDateCovered); err == nil {
		out.Until = t.UTC()
	}
	return out, nil
}
