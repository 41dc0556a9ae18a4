package zoho_test

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/crm/crmtest"
	"github.com/callsync/callsync/crm/zoho"
	"github.com/callsync/callsync/crm/zoho/zohotest"
	"github.com/callsync/callsync/jobs/jobstest"
)

// The conformance suite against the Calls module: with the Enreach id in a
// unique call_id_field, and without (pre-check by start time and the
// Description marker), matching users by e-mail and by a user field. The
// custom module cannot hold open calls or descriptions, so it is covered by
// the tests in zoho_test.go instead.
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name      string
		configure func(*zoho.Config)
		userField string
	}{
		{"CallsWithCallIDField", func(c *zoho.Config) { c.CallIDField = "Enreach_Call_ID" }, ""},
		{"CallsDescriptionOnly", nil, "Enreach_User_ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			crmtest.Run(t, func(t *testing.T) crmtest.Backend {
				return newBackend(t, backendOptions{Configure: tc.configure, UserField: tc.userField})
			})
		})
	}
}

func TestEngineEndToEnd(t *testing.T) {
	jobstest.RunEngine(t, func(t *testing.T) crmtest.Backend {
		return newBackend(t, backendOptions{})
	})
}

// extraField is the custom field every customer module of a backend has
// (crmtest.FieldsBackend).
const extraField = "Customer_Tier"

// backendOptions configure a backend.
type backendOptions struct {
	// Configure edits the client configuration made by Server.Config
	// (module, call_id_field, ...). A custom module is created on the server;
	// a call_id_field is added to Calls as a unique text field.
	Configure func(*zoho.Config)
	// UserField, when set, is the user field holding the Enreach user id and
	// users are matched by it; otherwise by e-mail.
	UserField string
	// Client are the client options; zero retry waits default to 1-5 ms.
	Client zoho.Options
}

// backend is a zohotest.Server plus a zoho.Client in the shape of crmtest.Backend.
type backend struct {
	Server *zohotest.Server
	Config zoho.Config
	client *zoho.Client
	match  crm.UserMatch
}

var _ crmtest.FieldsBackend = (*backend)(nil)

// newBackend starts a zohotest.Server (closed with the test) and a client for it.
func newBackend(t testing.TB, o backendOptions) *backend {
	t.Helper()
	s := zohotest.NewServer()
	t.Cleanup(s.Close)
	cfg := s.Config()
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	if cfg.Module != "" && cfg.Module != "Calls" {
		s.AddActivityModule(cfg.Module)
	}
	if cfg.CallIDField != "" {
		s.AddField("Calls", cfg.CallIDField, zohotest.Field{Type: zohotest.Text, Unique: true})
	}
	for _, m := range []string{"Contacts", "Accounts", "Leads"} {
		s.AddField(m, extraField, zohotest.Field{Type: zohotest.Text})
	}
	b := &backend{Server: s, Config: cfg, match: crm.UserMatch{By: "email"}}
	if o.UserField != "" {
		b.match = crm.UserMatch{By: "field", Field: o.UserField}
		b.Config.UserIDField = o.UserField
	}
	opts := o.Client
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTP.WaitMin == 0 {
		opts.HTTP.WaitMin, opts.HTTP.WaitMax = time.Millisecond, 5*time.Millisecond
	}
	c, err := zoho.New(b.Config, opts)
	if err != nil {
		t.Fatalf("zohotest: zoho.New: %v", err)
	}
	b.client = c
	return b
}

// Client implements crmtest.Backend.
func (b *backend) Client() crm.Client { return b.client }

// Zoho returns the concrete client.
func (b *backend) Zoho() *zoho.Client { return b.client }

// UserMatch implements crmtest.Backend.
func (b *backend) UserMatch() crm.UserMatch { return b.match }

// Requests counts API and token requests.
func (b *backend) Requests() int { return b.Server.Requests() }

// extraField implements crmtest.FieldsBackend.
func (b *backend) ExtraField(crm.Entity) string { return extraField }

// PhoneFields are the phone fields the client searches per module.
func (b *backend) PhoneFields(e crm.Entity) []string {
	switch e {
	case crm.Contact:
		return []string{"Phone", "Mobile", "Home_Phone", "Other_Phone", "Asst_Phone"}
	case crm.Account:
		return []string{"Phone"}
	case crm.Lead:
		return []string{"Phone", "Mobile"}
	}
	return nil
}

func moduleOf(e crm.Entity) string {
	switch e {
	case crm.Contact:
		return "Contacts"
	case crm.Account:
		return "Accounts"
	case crm.Lead:
		return "Leads"
	}
	return string(e)
}

func entityOf(module string) crm.Entity {
	switch module {
	case "Contacts":
		return crm.Contact
	case "Accounts":
		return crm.Account
	case "Leads":
		return crm.Lead
	}
	return crm.Entity(module)
}

// AddCustomer implements crmtest.Backend: name goes to Last_Name (contacts,
// leads; Full_Name is then the name) or Account_Name.
func (b *backend) AddCustomer(e crm.Entity, name string, phones map[string]string, ownerID string, fields map[string]string) string {
	rec := map[string]any{}
	if e == crm.Account {
		rec["Account_Name"] = name
	} else {
		rec["Last_Name"] = name
	}
	for k, v := range phones {
		rec[k] = v
	}
	for k, v := range fields {
		rec[k] = v
	}
	if ownerID != "" {
		rec["Owner"] = map[string]any{"id": ownerID}
	}
	return b.Server.AddRecord(moduleOf(e), rec)
}

// AddUser implements crmtest.Backend.
func (b *backend) AddUser(email, name, enreachID string, disabled bool) string {
	u := zohotest.User{Email: email, FullName: name, Active: !disabled}
	if b.match.By == "field" {
		u.Fields = map[string]string{b.match.Field: enreachID}
	}
	return b.Server.AddUser(u)
}

// Activities implements crmtest.Backend: the Calls records and, with a
// custom module, its records. How the client stores what has no Zoho field
// (mapping.go in crm/zoho): the engine's Description is the text before the
// last blank line, the data lines follow; a callback's request time is the
// "Requested:" line (Call_Start_Time is its due date); an open call carries a
// "Status: open" line. Zoho has no user party (UserID) nor status reason;
// Inbound/Outbound calls cannot last zero seconds, so the client writes one
// second and durations compare within two.
func (b *backend) Activities() []crmtest.Stored {
	var out []crmtest.Stored
	for _, r := range b.Server.Records("Calls") {
		out = append(out, storedCall(r))
	}
	if m := b.Config.Module; m != "" && m != "Calls" {
		for _, r := range b.Server.Records(m) {
			out = append(out, storedCustom(r))
		}
	}
	return out
}

func str(r map[string]any, k string) string {
	s, _ := r[k].(string)
	return s
}

func lookup(r map[string]any, k string) string {
	m, _ := r[k].(map[string]any)
	id, _ := m["id"].(string)
	return id
}

func parseTime(v string) time.Time {
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func storedCall(r map[string]any) crmtest.Stored {
	desc := str(r, "Description")
	head, tail := "", desc
	if i := strings.LastIndex(desc, "\n\n"); i >= 0 {
		head, tail = desc[:i], desc[i+2:]
	}
	lines := strings.Split(tail, "\n")
	s := crmtest.Stored{
		ID:           str(r, "id"),
		Subject:      str(r, "Subject"),
		Description:  head,
		Direction:    crm.Inbound,
		Number:       str(r, "Caller_ID"),
		Start:        parseTime(str(r, "Call_Start_Time")),
		OwnerID:      lookup(r, "Owner"),
		Open:         str(r, "Outgoing_Call_Status") == "Scheduled",
		Kind:         crm.KindCall,
		DurationUnit: 2 * time.Second,
		NotHeld:      []string{"UserID", "StatusReason"},
	}
	if str(r, "Call_Type") == "Outbound" {
		s.Direction, s.Number = crm.Outbound, str(r, "Dialled_Number")
	}
	if secs, ok := durationSeconds(str(r, "Call_Duration")); ok {
		s.Duration = time.Duration(secs) * time.Second
	}
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "Enreach callback ID: "):
			s.Kind = crm.KindCallback
		case strings.HasPrefix(l, "Requested: "):
			if t := parseTime(strings.TrimPrefix(l, "Requested: ")); !t.IsZero() {
				s.Start = t
			}
		case l == "Status: open":
			s.Open = true
		}
	}
	if id := lookup(r, "Who_Id"); id != "" {
		s.Regarding = &crm.Ref{Entity: crm.Contact, ID: id}
	} else if id := lookup(r, "What_Id"); id != "" {
		s.Regarding = &crm.Ref{Entity: entityOf(str(r, "$se_module")), ID: id}
	}
	return s
}

func storedCustom(r map[string]any) crmtest.Stored {
	s := crmtest.Stored{
		ID:        str(r, "id"),
		Subject:   str(r, "Subject"),
		Number:    str(r, "PhoneNumber"),
		Direction: crm.Inbound,
		Start:     parseTime(str(r, "StartTime")),
		OwnerID:   lookup(r, "Owner"),
		Kind:      crm.KindCall,
		NotHeld:   []string{"Description", "UserID", "StatusReason"},
		// DurationMins holds whole minutes.
		DurationUnit: time.Minute,
	}
	if str(r, "Direction") == "Outgoing" {
		s.Direction = crm.Outbound
	}
	if m, ok := r["DurationMins"].(float64); ok {
		s.Duration = time.Duration(m * float64(time.Minute)).Round(time.Second)
	}
	for _, m := range []string{"Contacts", "Accounts", "Leads"} {
		if id := lookup(r, "RelatesTo"+m); id != "" {
			s.Regarding = &crm.Ref{Entity: entityOf(m), ID: id}
			break
		}
	}
	return s
}

// AddManualCall implements crmtest.ManualBackend: an inbound call in the
// Calls module as a person logs it (no Enreach id marker, no call id).
func (b *backend) AddManualCall(number string, start time.Time, d time.Duration) string {
	secs := int(d.Seconds())
	return b.Server.AddRecord("Calls", map[string]any{"Subject": "Logged by hand", "Call_Type": "Inbound", "Caller_ID": number,
		"Call_Start_Time": start.UTC().Format("2006-01-02T15:04:05-07:00"), "Call_Duration": fmt.Sprintf("%02d:%02d", secs/60, secs%60)})
}

// durationSeconds parses Call_Duration "mm:ss" (minutes may exceed 59).
func durationSeconds(v string) (int, bool) {
	m, s, ok := strings.Cut(v, ":")
	if !ok {
		return 0, false
	}
	mins, err1 := strconv.Atoi(m)
	secs, err2 := strconv.Atoi(s)
	if err1 != nil || err2 != nil || secs > 59 {
		return 0, false
	}
	return mins*60 + secs, true
}
