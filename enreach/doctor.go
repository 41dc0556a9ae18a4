package enreach

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/callsync/callsync/crm"
)

// DoctorProfile is one active callback profile, as the Enreach checks need it.
type DoctorProfile struct {
	Name   string
	ListID string
	// Webhook: requests arrive by webhook; Polling: the list is polled.
	Webhook bool
	Polling bool
}

// DoctorOptions says what the tenant uses, so the checks cover it.
type DoctorOptions struct {
	// Profiles are the tenant's active callback profiles.
	Profiles []DoctorProfile
	// QueueCalls: answered or unanswered queue calls are synced.
	QueueCalls bool
	// Now is the clock (time.Now when zero), for the callback list probe.
	Now time.Time
}

// Area of the Enreach check lines.
const checkArea = "enreach"

// Doctor checks, read-only, what callsync needs from the organisation: the
// API host (configured or discovered), the API user's credentials
// (GET /users/me), read rights on users, queues and callback lists, and on
// the list of each active callback profile (one GET /callbacks of the last
// hour). Webhook subscriptions are set up by Enreach support and no API shows
// them (https://doc.enreachvoice.com/webhooks/), so they are reported as
// unknown. A failed host or credentials check ends the run: every later
// request would fail the same way.
func (c *Client) Doctor(ctx context.Context, o DoctorOptions) []crm.Check {
	var out []crm.Check
	add := func(name string, st crm.CheckStatus, detail, fix string) {
		out = append(out, crm.Check{Area: checkArea, Name: name, Status: st, Detail: detail, Fix: fix})
	}

	// API host.
	if c.apiURLSet {
		base, _ := c.APIURL(ctx)
		add("api_host", crm.CheckOK, "enreach.api_url is "+base+" (discovery not used)", "")
	} else {
		base, err := c.APIURL(ctx)
		if err != nil {
			add("api_host", crm.CheckFail, "discovery of the API host for "+c.user+" failed: "+err.Error(),
				"set enreach.user to the API user's e-mail address as Enreach knows it, or set enreach.api_url to your API host (https://api-<silo>.enreachvoice.com)")
			return out
		}
		add("api_host", crm.CheckOK, "discovered "+base+" for "+c.user, "")
	}

	// Credentials.
	me, err := c.Me(ctx)
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Unauthorized() {
			add("auth", crm.CheckFail, fmt.Sprintf("Enreach refused user %s with the configured secret key (HTTP 401)", c.user),
				"create a new secret key for the API user "+c.user+" in Enreach and put it where enreach.secret_key reads it (the secret key, not the user's password)")
		} else {
			add("auth", crm.CheckFail, "could not check the credentials: "+err.Error(),
				"make sure the Enreach API host is reachable from this machine; the check runs again")
		}
		return out
	}
	detail := "authenticated as " + c.user
	if me.OrganizationID != "" {
		detail += " (organisation " + me.OrganizationID + ")"
	}
	add("auth", crm.CheckOK, detail, "")

	// Read rights.
	users, err := c.Users(ctx)
	switch {
	case err != nil:
		add("users", crm.CheckFail, readError("users", err),
			"give the API user "+c.user+" the right to read all users of the organisation (their calls are read per user)")
	case len(users) == 0:
		add("users", crm.CheckWarn, "the API user sees no users: calls cannot be given an owner",
			"give the API user "+c.user+" the right to read all users of the organisation")
	default:
		add("users", crm.CheckOK, count(len(users), "user", "users")+" readable", "")
	}
	queues, err := c.Queues(ctx)
	switch {
	case err != nil && o.QueueCalls:
		add("queues", crm.CheckFail, readError("queues", err),
			"give the API user "+c.user+" the right to read the service queues (queue calls are synced)")
	case err != nil:
		add("queues", crm.CheckWarn, readError("queues", err)+"; queue numbers are then not known as the organisation's own",
			"give the API user "+c.user+" the right to read the service queues")
	case len(queues) == 0 && o.QueueCalls:
		add("queues", crm.CheckWarn, "the API user sees no service queues but queue calls are to be synced",
			"give the API user "+c.user+" the right to read the service queues")
	default:
		add("queues", crm.CheckOK, count(len(queues), "queue", "queues")+" readable", "")
	}
	if len(o.Profiles) == 0 {
		add("callback_lists", crm.CheckOK, "not checked: no active callback profile", "")
		return out
	}
	lists, err := c.CallbackLists(ctx)
	if err != nil {
		add("callback_lists", crm.CheckFail, readError("callback lists", err),
			"give the API user "+c.user+" the right to read callback lists (active callback profiles need them)")
		return out
	}
	add("callback_lists", crm.CheckOK, count(len(lists), "callback list", "callback lists")+" readable", "")
	byID := map[string]CallbackList{}
	for _, l := range lists {
		byID[strings.ToLower(l.ID)] = l
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	webhookOnly, webhookPolled := []string{}, []string{}
	for _, p := range o.Profiles {
		name := "callback_list " + p.Name
		switch {
		case p.Webhook && !p.Polling:
			webhookOnly = append(webhookOnly, p.Name)
		case p.Webhook:
			webhookPolled = append(webhookPolled, p.Name)
		}
		l, ok := byID[strings.ToLower(p.ListID)]
		if !ok {
			add(name, crm.CheckFail, fmt.Sprintf("callback list %s of profile %s is not among the %d lists the API user sees", p.ListID, p.Name, len(lists)),
				"set callback_list_id of profile "+p.Name+" to one of "+listNames(lists)+", or give the API user "+c.user+" the right to read and handle that callback list")
			continue
		}
		label := fmt.Sprintf("%q (%s)", l.Name, l.ID)
		cbs, _, err := c.Callbacks(ctx, l.ID, Window{From: now.Add(-time.Hour), To: now, ByModified: true})
		if err != nil {
			var se *StatusError
			if errors.As(err, &se) && (se.Status == http.StatusForbidden || se.Status == http.StatusUnauthorized) {
				add(name, crm.CheckFail, fmt.Sprintf("the API user has no permission on callback list %s of profile %s (HTTP %d)", label, p.Name, se.Status),
					"give the API user "+c.user+" the right to read and handle callback list "+label+" in Enreach")
			} else {
				add(name, crm.CheckFail, fmt.Sprintf("callback list %s of profile %s: %v", label, p.Name, err),
					"make sure the API user "+c.user+" can read callback list "+label)
			}
			continue
		}
		add(name, crm.CheckOK, fmt.Sprintf("callback list %s readable (%d requests changed in the last hour)", label, len(cbs)), "")
	}
	if len(webhookOnly) > 0 {
		add("webhooks", crm.CheckWarn,
			"profiles "+strings.Join(webhookOnly, ", ")+" receive requests by webhook only; the Enreach API does not show webhook subscriptions (Enreach support sets them up), so callsync cannot verify them",
			"ask Enreach support to subscribe the callback events to https://<your host>/webhooks/enreach/<tenant> with enreach.webhook_token, or use sync_method webhook_and_polling so polling catches what a webhook misses")
	} else if len(webhookPolled) > 0 {
		add("webhooks", crm.CheckOK,
			"profiles "+strings.Join(webhookPolled, ", ")+": webhook subscriptions are not visible through the Enreach API; polling catches what a webhook misses", "")
	}
	return out
}

// readError words a failed list read for a check line.
func readError(what string, err error) string {
	var se *StatusError
	if errors.As(err, &se) && (se.Status == http.StatusForbidden || se.Status == http.StatusUnauthorized) {
		return fmt.Sprintf("the API user may not read %s (HTTP %d)", what, se.Status)
	}
	return fmt.Sprintf("reading %s failed: %v", what, err)
}

// listNames lists callback lists as `"Name" (id)`, sorted by name.
func listNames(lists []CallbackList) string {
	if len(lists) == 0 {
		return "the lists of your organisation (the API user sees none)"
	}
	names := make([]string, 0, len(lists))
	for _, l := range lists {
		names = append(names, fmt.Sprintf("%q (%s)", l.Name, l.ID))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// count words n things: "1 user", "2 users".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
