package dynamics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/callsync/callsync/crm"
)

var _ crm.Updater = (*Client)(nil)

// UpdateActivities implements crm.Updater: one changeset per activity in
// $batch requests, each a PATCH of phonecalls(<id>) with If-Match: * (so a
// deleted activity is reported, never re-created by upsert). The link is the
// regardingobjectid_<table>_phonecall binding; the customer activity party is
// not changed (Dataverse creates parties with the activity). Completed
// activities are read-only in Dataverse ("Cannot update Closed or Cancelled
// Activity"), so an update with Completed reopens the phone call (statecode
// 0), changes it and completes it again with its direction's status, all in
// one changeset (all or nothing); an OnlyOpen update of a closed activity
// fails with crm.ErrClosed. See
// https://learn.microsoft.com/power-apps/developer/data-platform/webapi/update-delete-entities-using-web-api
// and https://learn.microsoft.com/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api
func (c *Client) UpdateActivities(ctx context.Context, ups []crm.ActivityUpdate) ([]crm.WriteResult, error) {
	results := make([]crm.WriteResult, len(ups))
	var (
		sets    [][]op
		setItem []int
	)
	for i, u := range ups {
		id := u.ID
		if id == "" && u.Key != "" {
			id = ActivityID(u.Key)
		}
		results[i] = crm.WriteResult{Key: u.Key, ID: id}
		ops, err := updateOps(id, u)
		if err != nil {
			results[i].Status, results[i].Err = crm.Failed, fmt.Errorf("dynamics: update %s: %w", u.Key, err)
			continue
		}
		sets = append(sets, ops)
		setItem = append(setItem, i)
	}
	if len(sets) == 0 {
		return results, nil
	}
	rs, err := c.runChangesets(ctx, "update", sets)
	if err != nil {
		return nil, fmt.Errorf("dynamics: update %d activities: %w", len(sets), err)
	}
	for j, r := range rs {
		i := setItem[j]
		var e *Error
		switch {
		case r.err == nil:
			results[i].Status = crm.Updated
		case errors.As(r.err, &e) && strings.Contains(e.Message, closedActivityMessage):
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("dynamics: update %s: %w: %w", ups[i].Key, crm.ErrClosed, r.err)
		case errors.As(r.err, &e) && e.Status == http.StatusNotFound:
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("dynamics: update %s: %w: %w: %w", ups[i].Key, crm.ErrNotFound, crm.ErrPermanent, r.err)
		default:
			results[i].Status = crm.Failed
			results[i].Err = fmt.Errorf("dynamics: update %s: %w", ups[i].Key, r.err)
		}
	}
	return results, nil
}

// updateOps builds one update's changeset.
func updateOps(id string, u crm.ActivityUpdate) ([]op, error) {
	if _, err := uuid.Parse(id); err != nil {
		return nil, fmt.Errorf("activity id %q: %w", id, crm.ErrPermanent)
	}
	b := map[string]any{}
	if u.Regarding != nil {
		meta, ok := entities[u.Regarding.Entity]
		if !ok {
			return nil, fmt.Errorf("regarding entity %q: %w", u.Regarding.Entity, crm.ErrPermanent)
		}
		if _, err := uuid.Parse(u.Regarding.ID); err != nil {
			return nil, fmt.Errorf("regarding id %q: %w", u.Regarding.ID, crm.ErrPermanent)
		}
		b[meta.regardingBind] = "/" + meta.set + "(" + u.Regarding.ID + ")"
	}
	if u.Description != "" {
		b["description"] = truncate(u.Description, maxDescriptionLen)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("nothing to change: %w", crm.ErrPermanent)
	}
	body, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	url := APIPath + "/" + phoneCallSet + "(" + id + ")"
	hdr := [][2]string{{"Content-Type", "application/json; type=entry"}, {"If-Match", "*"}}
	if !u.Completed {
		return []op{{method: http.MethodPatch, url: url, header: hdr, body: body, cid: 1}}, nil
	}
	status := statusReceived
	if u.Kind == crm.KindCallback {
		status = closeStatusCall
	} else if u.Direction != crm.Inbound {
		status = statusMade
	}
	reopen, _ := json.Marshal(map[string]int{"statecode": stateOpen, "statuscode": 1})
	complete, _ := json.Marshal(map[string]int{"statecode": stateCompleted, "statuscode": status})
	return []op{
		{method: http.MethodPatch, url: url, header: hdr, body: reopen, cid: 1},
		{method: http.MethodPatch, url: url, header: hdr, body: body, cid: 2},
		{method: http.MethodPatch, url: url, header: hdr, body: complete, cid: 3},
	}, nil
}
