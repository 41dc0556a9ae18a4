package salesforce

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/internal/jsonw"
)

var _ crm.Updater = (*Client)(nil)

// UpdateActivities implements crm.Updater. The Tasks are read first by Id
// (or, without one, by external id) in one SOQL per IN list, so an update of
// a Task that is gone fails with crm.ErrNotFound and an OnlyOpen update of a
// closed Task (IsClosed) fails with crm.ErrClosed; the others are changed by
// Id through PATCH /composite/sobjects, 200 per request (an update by Id
// never creates a Task, unlike the external-id upsert). The link sets
// WhoId/WhatId as a write does. See
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_update.htm
func (c *Client) UpdateActivities(ctx context.Context, ups []crm.ActivityUpdate) ([]crm.WriteResult, error) {
	results := make([]crm.WriteResult, len(ups))
	var ids, exts []string
	for i, u := range ups {
		results[i] = crm.WriteResult{Key: u.Key, ID: u.ID}
		switch {
		case u.Regarding == nil && u.Description == "":
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("salesforce: update %s: nothing to change: %w", u.Key, crm.ErrPermanent)
		case u.ID != "":
			ids = append(ids, u.ID)
		case u.Key != "":
			exts = append(exts, ExternalID(u.Key))
		default:
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("salesforce: update: request without key or id: %w", crm.ErrPermanent)
		}
	}
	byID := map[string][]taskRow{}
	byExt := map[string][]taskRow{}
	var err error
	if len(ids) > 0 {
		if byID, err = c.tasksByExternalID(ctx, ids, "Id"); err != nil {
			return nil, fmt.Errorf("salesforce: update: read Tasks: %w", err)
		}
	}
	if len(exts) > 0 {
		if byExt, err = c.tasksByExternalID(ctx, exts, ""); err != nil {
			return nil, fmt.Errorf("salesforce: update: read Tasks: %w", err)
		}
	}
	var recs [][]byte
	var items []int
	for i, u := range ups {
		if results[i].Status == crm.Failed {
			continue
		}
		var ts []taskRow
		if u.ID != "" {
			ts = byID[strings.ToLower(u.ID)]
		} else {
			ts = byExt[strings.ToLower(ExternalID(u.Key))]
		}
		switch {
		case len(ts) == 0:
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("salesforce: update %s: no Task %s: %w: %w", u.Key, u.ID, crm.ErrNotFound, crm.ErrPermanent)
		case len(ts) > 1:
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("salesforce: update %s: external id is on %d Tasks: %w", u.Key, len(ts), crm.ErrPermanent)
		case u.OnlyOpen && ts[0].closed:
			results[i].ID = ts[0].id
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("salesforce: update %s: %w", u.Key, crm.ErrClosed)
		default:
			results[i].ID = ts[0].id
			recs = append(recs, updateFields(ts[0].id, u))
			items = append(items, i)
		}
	}
	if len(recs) == 0 {
		return results, nil
	}
	res, err := c.collection(ctx, http.MethodPatch, "/composite/sobjects", recs)
	if err != nil {
		return nil, fmt.Errorf("salesforce: update %d activities: %w", len(recs), err)
	}
	for k, i := range items {
		if res[k].Success {
			results[i].Status = crm.Updated
			continue
		}
		c.failed("update", &results[i], res[k].Errors)
	}
	return results, nil
}

// updateFields is the Task record of one update: the link (WhoId/WhatId,
// chosen as for a write) and the description, when set.
func updateFields(id string, u crm.ActivityUpdate) []byte {
	var m jsonw.Object
	m.ValueString("attributes", taskAttributes)
	m.String("id", id)
	if u.Regarding != nil {
		who, what := regarding(crm.Activity{Regarding: u.Regarding, Related: u.Related})
		if who != "" {
			m.String(fWhoID, who)
		}
		if what != "" {
			m.String(fWhatID, what)
		}
	}
	if u.Description != "" {
		m.String(fDescription, truncate(u.Description, maxDescription))
	}
	return m.Append(nil)
}
