//go:build sandbox

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/crm"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/httpclient"
	"github.com/callsync/callsync/jobs"
)

// SandboxCommand is `callsync sandbox`: the full worker against built-in
// Enreach and CRM doubles on loopback ports, with a generated organisation
// and a steady stream of new calls. No credentials, no network.
type SandboxCommand struct{ *Main }

// sandboxCRM is a CRM double the sandbox can seed and point a tenant at.
type sandboxCRM interface {
	// configure points the tenant's crm section at the double.
	configure(t *config.Tenant)
	addUser(email, name, enreachID string) string
	addCustomer(e crm.Entity, name, phoneField, number string)
	// addQueue returns the CRM queue callback requests go to ("" when the
	// CRM needs none).
	addQueue(name string) string
	url() string
	close()
}

// sandboxTypes lists the CRM types that have a sandbox double.
func sandboxTypes() []string {
	var out []string
	for _, n := range crmTypeNames() {
		if sandboxCRMs()[n] != nil {
			out = append(out, n)
		}
	}
	return out
}

// Run starts the sandbox and blocks until ctx ends (Ctrl-C).
func (c *SandboxCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlags("sandbox", "callsync sandbox [--crm dynamics|salesforce|zoho] [--listen ADDR] [--admin-listen ADDR] [--every D] [--dir DIR]")
	crmType := fs.String("crm", "dynamics", "CRM double: dynamics, salesforce or zoho")
	listen := fs.String("listen", "127.0.0.1:8080", "HTTP address for webhooks, routing and liveness (port 0: any free port)")
	adminListen := fs.String("admin-listen", config.DefaultAdminListen, "HTTP address for /metrics, /healthz detail and the status page (port 0: any free port)")
	every := fs.Duration("every", 4*time.Second, "how often the generated organisation makes a new call")
	dir := fs.String("dir", "", "directory for the SQLite store (default: a temporary one, removed at exit)")
	if err := c.parse(fs, args); err != nil {
		return err
	}
	mk := sandboxCRMs()[*crmType]
	if _, ok := crmTypes[*crmType]; !ok || mk == nil {
		return fmt.Errorf("--crm %q: the sandbox has doubles for %s", *crmType, strings.Join(sandboxTypes(), ", "))
	}
	storeDir := *dir
	if storeDir == "" {
		d, err := os.MkdirTemp("", "callsync-sandbox-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		storeDir = d
	}

	en := enreachtest.NewServer()
	defer en.Close()
	cd := mk()
	defer cd.close()
	org := newSandboxOrg(en, cd)

	cfg := config.Defaults()
	cfg.Store.Path = filepath.Join(storeDir, "callsync.db")
	cfg.HTTP.Listen = freeIfBusy(c.Stdout, "--listen", *listen)
	cfg.HTTP.AdminListen = freeIfBusy(c.Stdout, "--admin-listen", *adminListen)
	cfg.HTTP.StatusPage = true
	t := config.DefaultTenant()
	t.Name = "sandbox"
	t.DefaultRegion = "FI"
	t.Enreach.APIURL = en.URL
	t.Enreach.User = en.User
	t.Enreach.SecretKey = config.Secret(en.Secret)
	t.PhoneCalls.ProcessServiceCalls = true
	t.PhoneCalls.ProcessServiceCallsUnanswered = true
	t.PhoneCalls.DefaultCRMAssignee = org.users[0].ID
	t.PhoneCalls.ExecutionInterval = config.Duration(10 * time.Minute)
	t.Retroactive.Enabled = false
	t.Enreach.WebhookToken = config.Secret(sandboxWebhookToken)
	cd.configure(&t)
	p := config.DefaultProfile()
	p.Name = "sales"
	p.CallbackListID = org.list.ID
	p.Queue = cd.addQueue("Sales callbacks")
	p.SyncMethod = config.SyncWebhookAndPolling
	t.Callbacks.Profiles = []config.Profile{p}
	cfg.Tenants = []config.Tenant{t}
	if err := cfg.Validate(configTypes()); err != nil {
		return fmt.Errorf("sandbox config: %w", err)
	}

	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	out := &lockedWriter{w: c.Stdout}
	log := newLogger(c.Stderr, "text", "warn")
	w := &worker{log: log, getenv: c.Getenv}
	var admin string
	w.adminReady = func(addr string) { admin = addr }
	w.ready = func(addr string) {
		fmt.Fprintf(out, "callsync sandbox (%s)\n", *crmType)
		fmt.Fprintf(out, "  enreach double   %s  (user %s)\n", en.URL, en.User)
		fmt.Fprintf(out, "  %-17s%s\n", *crmType+" double", cd.url())
		fmt.Fprintf(out, "  callsync http    http://%s  (webhooks, routing, /healthz)\n", addr)
		fmt.Fprintf(out, "  admin http       http://%s  (/metrics, /healthz detail)\n", admin)
		fmt.Fprintf(out, "  status page      http://%s/\n", admin)
		fmt.Fprintf(out, "  store            %s\n", cfg.Store.Path)
		fmt.Fprintf(out, "  a new call or callback request every %s; calls and callback polling run every minute,\n", *every)
		fmt.Fprintf(out, "  half the callback requests also arrive by webhook at http://%s/webhooks/enreach/sandbox. Ctrl-C stops.\n\n", addr)
		org.webhookURL = "http://" + addr + "/webhooks/enreach/sandbox"
		go org.generate(genCtx, *every)
	}
	// A few calls of the last minutes, so the first run has work at once.
	now := time.Now().UTC()
	for i := 8; i > 0; i-- {
		org.call(now.Add(-time.Duration(i) * 20 * time.Second))
	}
	printer := &outcomePrinter{w: out, seen: map[string]bool{}}
	err := w.run(ctx, &cfg, httpclient.Options{WaitMin: 100 * time.Millisecond, WaitMax: 2 * time.Second}, printer.print)
	fmt.Fprintln(out, "sandbox stopped")
	return err
}

// sandboxOrg is the generated organisation: Enreach users and queues, CRM
// users and customers, and a caller population (mostly known, some not).
type sandboxOrg struct {
	en         *enreachtest.Server
	list       enreach.CallbackList
	webhookURL string
	mu         sync.Mutex
	open       []enreach.Callback
	users      []enreach.User
	queues     []enreach.Queue
	known      []string
	unknown    []string
	rnd        *rand.Rand
}

func newSandboxOrg(en *enreachtest.Server, cd sandboxCRM) *sandboxOrg {
	o := &sandboxOrg{en: en, rnd: rand.New(rand.NewPCG(1, 2))}
	names := []string{"Aino", "Eero", "Helmi", "Juha", "Kaisa"}
	for i, n := range names {
		u := enreach.User{ID: enreachtest.NewID(), UserName: strings.ToLower(n) + "@sandbox.example", FirstName: n, LastName: "Agent",
			WorkNumber: fmt.Sprintf("+35820100%04d", i+1), MobileNumber: fmt.Sprintf("+35840100%04d", i+1)}
		o.users = append(o.users, u)
		if i < 4 { // the last agent has no CRM user: the default assignee gets the calls
			cd.addUser(u.UserName, n+" Agent", u.ID)
		}
	}
	o.queues = []enreach.Queue{
		{ID: enreachtest.NewID(), Name: "Sales", Numbers: []string{"+358201234500"}},
		{ID: enreachtest.NewID(), Name: "Support", Numbers: []string{"+358201234600"}},
	}
	en.AddUsers(o.users...)
	en.AddQueues(o.queues...)
	o.list = enreach.CallbackList{ID: enreachtest.NewID(), Name: "Sales callbacks", QueueID: o.queues[0].ID}
	en.AddCallbackLists(o.list)
	// Customers with numbers stored the way people type them.
	for i := 0; i < 30; i++ {
		e164 := fmt.Sprintf("+3584055%05d", 100+i)
		national := "0" + e164[4:6] + " " + e164[6:9] + " " + e164[9:] // "040 550 0100"
		switch i % 3 {
		case 0:
			cd.addCustomer(crm.Contact, fmt.Sprintf("Contact %02d", i), "mobilephone", e164)
		case 1:
			cd.addCustomer(crm.Account, fmt.Sprintf("Account %02d Oy", i), "telephone1", e164)
		default:
			cd.addCustomer(crm.Lead, fmt.Sprintf("Lead %02d", i), "telephone1", national)
		}
		o.known = append(o.known, e164)
	}
	for i := 0; i < 10; i++ {
		o.unknown = append(o.unknown, fmt.Sprintf("+3585099%05d", i))
	}
	return o
}

// generate adds a finished call every interval until ctx ends.
func (o *sandboxOrg) generate(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if o.rnd.IntN(4) == 0 {
				o.callback(ctx, time.Now().UTC())
			} else {
				o.call(time.Now().UTC())
			}
		}
	}
}

func (o *sandboxOrg) call(now time.Time) {
	r := o.rnd
	customer := o.known[r.IntN(len(o.known))]
	if r.IntN(6) == 0 {
		customer = o.unknown[r.IntN(len(o.unknown))]
	}
	if r.IntN(15) == 0 {
		customer = "anonymous"
	}
	agent := o.users[r.IntN(len(o.users))]
	talk := time.Duration(20+r.IntN(300)) * time.Second
	start := now.Add(-talk - 10*time.Second)
	switch r.IntN(4) {
	case 0, 1:
		c := enreachtest.DirectCall(agent, customer, r.IntN(3) == 0, start, 5*time.Second, talk)
		if r.IntN(8) == 0 {
			c.Privacy = enreach.PrivacyPrivate
		}
		c.Modified = now
		o.en.AddCalls(c)
	default:
		q := o.queues[r.IntN(len(o.queues))]
		var a *enreach.User
		if r.IntN(5) != 0 {
			a = &agent
		}
		sc, leg := enreachtest.QueueCall(q, a, customer, start, 10*time.Second, talk)
		sc.Modified = now
		o.en.AddServiceCalls(sc)
		if leg != nil {
			leg.Modified = now
			o.en.AddCalls(*leg)
		}
	}
}

// sandboxWebhookToken is the X-Benemen-Token of the sandbox tenant.
const sandboxWebhookToken = "sandbox-webhook-token"

// callback creates a callback request, or closes an open one; half of them
// are also delivered by webhook (the other half reach callsync by polling).
func (o *sandboxOrg) callback(ctx context.Context, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := o.rnd
	var cb enreach.Callback
	event := enreach.EventCallbackCreated
	if len(o.open) > 2 && r.IntN(3) == 0 {
		closed, err := o.en.CloseCallback(o.open[0].ID, "Closed successfully")
		if err != nil {
			return
		}
		cb, event, o.open = closed, enreach.EventCallbackClosed, o.open[1:]
	} else {
		due := now.Add(time.Hour)
		cb = enreach.Callback{ID: enreachtest.NewID(), CallbackListID: o.list.ID, ContactNumber: o.known[r.IntN(len(o.known))],
			ContactName: "Caller", ContactMessage: "Please call me back", QueueID: o.list.QueueID,
			CreatedTime: now, ModifiedTime: now, DueDate: &due}
		o.en.AddCallbacks(cb)
		o.open = append(o.open, cb)
	}
	if o.webhookURL != "" && r.IntN(2) == 0 {
		go o.en.SendWebhook(ctx, o.webhookURL, sandboxWebhookToken, enreachtest.NewCallbackDelivery(event, cb))
	}
}

// lockedWriter serialises lines from the jobs and the banner.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// freeIfBusy returns addr, or the same host with port 0 (any free port) when
// something already listens on addr, saying so: the sandbox is for trying
// callsync out, and its banner prints the address it got.
func freeIfBusy(w io.Writer, flag, addr string) string {
	l, err := net.Listen("tcp", addr)
	if err == nil {
		l.Close()
		return addr
	}
	host, port, splitErr := net.SplitHostPort(addr)
	if splitErr != nil || port == "0" || !errors.Is(err, syscall.EADDRINUSE) {
		return addr // the listener reports the problem
	}
	fmt.Fprintf(w, "%s %s is busy: using a free port instead (see below)\n", flag, addr)
	return net.JoinHostPort(host, "0")
}

// outcomePrinter prints one line per call outcome, and a call's skipped or
// unresolved outcome once: the next cycles see the same call again (their
// windows overlap, the nightly run re-reads the day) and would repeat it.
type outcomePrinter struct {
	w    io.Writer
	mu   sync.Mutex
	seen map[string]bool // call id + state + reason already printed
}

func (p *outcomePrinter) print(_ string, o jobs.Outcome) {
	key := o.CallID + "\x00" + string(o.State) + "\x00" + o.Reason
	p.mu.Lock()
	again := p.seen[key]
	p.seen[key] = true
	p.mu.Unlock()
	if again && o.Err == nil {
		return
	}
	id := o.CallID
	if len(id) > 8 {
		id = id[:8]
	}
	line := fmt.Sprintf("%s  %-10s %-16s call %s", time.Now().UTC().Format("15:04:05"), o.State, o.Number, id)
	if o.Reason != "" {
		line += "  " + o.Reason
	}
	if o.CRMID != "" {
		line += "  crm " + o.CRMID
	}
	if o.Err != nil {
		line += "  error: " + o.Err.Error()
	}
	fmt.Fprintln(p.w, line)
}
