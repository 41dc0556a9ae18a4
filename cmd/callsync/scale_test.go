package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/callsync/callsync/store"

	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
)

// tenantDoubles is one tenant of a multi-tenant config: its own Enreach
// and Dynamics doubles.
type tenantDoubles struct {
	name  string
	en    *enreachtest.Server
	dyn   *dynamicstest.Server
	agent enreach.User
	// list is the callback list of the tenant's webhook profile.
	list enreach.CallbackList
}

// newTenantsDoubles writes a config of n tenants on a new PostgreSQL
// database (lease_ttl 3s), each tenant with its own doubles; the secrets
// come from the environment as an operator's would.
func newTenantsDoubles(t *testing.T, n int) (*doubles, []*tenantDoubles) {
	t.Helper()
	dir := t.TempDir()
	d := &doubles{env: map[string]string{"WEBHOOK_TOKEN": webhookToken}, config: filepath.Join(dir, "callsync.yaml")}
	d.env["DATABASE_URL"] = pg.NewDatabase(t)
	var b strings.Builder
	b.WriteString("store:\n  driver: postgres\n  url: ${DATABASE_URL}\n  max_conns: 4\n  lease_ttl: 3s\n  connect_timeout: 2s\n")
	b.WriteString("http: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}\ntenants:\n")
	var ts []*tenantDoubles
	for i := 0; i < n; i++ {
		td := &tenantDoubles{name: fmt.Sprintf("tenant%02d", i), en: enreachtest.NewServer(), dyn: dynamicstest.NewServer(dynamicstest.Options{})}
		t.Cleanup(td.en.Close)
		t.Cleanup(td.dyn.Close)
		td.agent = enreach.User{ID: enreachtest.NewID(), UserName: fmt.Sprintf("agent%d@t%d.example", i, i), WorkNumber: fmt.Sprintf("+3582010%05d", i)}
		td.en.AddUsers(td.agent)
		td.dyn.AddUser(dynamicstest.User{Name: "Agent", Email: td.agent.UserName})
		td.dyn.AddContact(dynamicstest.Record{Name: "Matti", Phones: map[string]string{"mobilephone": "040 123 4567"}})
		queue := td.dyn.AddQueue(dynamicstest.Queue{Name: "Callbacks"})
		td.list = enreach.CallbackList{ID: enreachtest.NewID(), Name: "Callbacks", QueueID: enreachtest.NewID()}
		td.en.AddCallbackLists(td.list)
		dc := td.dyn.Config()
		d.env[fmt.Sprintf("EN_SECRET_%d", i)] = td.en.Secret
		d.env[fmt.Sprintf("DYN_SECRET_%d", i)] = dc.ClientSecret
		fmt.Fprintf(&b, `  - name: %s
    default_region: FI
    enreach:
      api_url: %s
      user: %s
      secret_key: ${EN_SECRET_%d}
      webhook_token: ${WEBHOOK_TOKEN}
    crm:
      type: dynamics
      dynamics:
        url: %s
        authority_url: %s
        tenant_id: %s
        client_id: %s
        client_secret: ${DYN_SECRET_%d}
    phone_calls:
      default_crm_assignee: %s
    retroactive: {enabled: false}
    callbacks:
      profiles:
        - {name: web, callback_list_id: %s, queue: %s, sync_method: webhook, active: true}
`, td.name, td.en.URL, td.en.User, i, dc.URL, dc.AuthorityURL, dc.TenantID, dc.ClientID, i, td.agent.ID, td.list.ID, queue)
		ts = append(ts, td)
	}
	if err := os.WriteFile(d.config, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return d, ts
}

// webhookToken is every tenant's X-Benemen-Token.
const webhookToken = "scale-webhook-token"

// callOf is a direct call of the tenant's agent that ended about ago, as
// Enreach lists a call it has just published: modified a few seconds ago.
// (Modified stamped at the call's end would make the later calls of a big
// batch, ended minutes ago, reach the API older than the calls cycle's
// re-read below its cursor (jobs.Overlap) once a cycle has run: calls
// published minutes late, which the minute cycle leaves to the nightly
// re-sync by design.)
func (td *tenantDoubles) callOf(ago time.Duration) enreach.Call {
	c := enreachtest.DirectCall(td.agent, "+358401234567", false, time.Now().Add(-ago-time.Minute), time.Second, time.Minute)
	c.Modified = time.Now().UTC().Add(-5 * time.Second)
	return c
}

// scale is the size of TestReplicasAtScale: CALLSYNC_SCALE=full is the
// acceptance size (20 tenants, 5,000 calls, 1,000 webhooks); the default
// keeps make test reasonable on a small machine.
func scale() (tenants, calls, webhooks int) {
	if os.Getenv("CALLSYNC_SCALE") == "full" {
		return 20, 5000, 1000
	}
	return 20, 300, 100
}

// publicAddr waits for a replica's public listener address in its log.
func publicAddr(t *testing.T, r *replica) string {
	t.Helper()
	re := regexp.MustCompile(`msg="callsync started" http=(\S+)`)
	var addr string
	waitFor(t, 60*time.Second, "a replica's public address", func() bool {
		if m := re.FindStringSubmatch(r.log()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})
	return addr
}

// Three replicas share 20 tenants on one PostgreSQL database. Calls arrive
// for every tenant and callback requests reach them by webhook, posted
// round-robin to the live replicas; the replica holding the most tenants
// is killed with SIGKILL mid-run and a new one starts. Every call and
// callback is written exactly once, the killed replica's tenants are run
// again by another within 60 s, and no tenant's calls ran on two replicas
// at once (run history), the returned one included.
func TestReplicasAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four callsync processes")
	}
	replicasAtScale(t, disruptKill)
}

// The same with the busiest replica's database connection cut instead
// (cutDuration, 30 s at full size) and then restored: the others take its
// tenants within 60 s, it runs none of them while cut off, and every call
// and callback is written exactly once.
func TestReplicasAtScaleCut(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three callsync processes")
	}
	replicasAtScale(t, disruptCut)
}

// disruption is what happens to the busiest replica mid-run.
type disruption int

const (
	// disruptKill: SIGKILL, and a new replica starts.
	disruptKill disruption = iota
	// disruptCut: its database connection is cut for cutDuration, then
	// restored (no webhooks reach it meanwhile: a load balancer checks
	// /healthz).
	disruptCut
)

// cutDuration is how long TestReplicasAtScaleCut keeps the connection cut:
// 30 s at full size, 10 s by default (the takeover needs lease_ttl, 3 s).
func cutDuration() time.Duration {
	if os.Getenv("CALLSYNC_SCALE") == "full" {
		return 30 * time.Second
	}
	return 10 * time.Second
}

func replicasAtScale(t *testing.T, how disruption) {
	nt, nc, nw := scale()
	d, ts := newTenantsDoubles(t, nt)
	ctx := context.Background()
	st, err := store.OpenPostgres(ctx, d.env["DATABASE_URL"], store.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Calls and callbacks per tenant, each half before and half after the
	// disruption.
	calls := make([]int, nt)
	cbs := make([][]enreach.Callback, nt)
	for i := 0; i < nc; i++ {
		calls[i%nt]++
	}
	for i := 0; i < nw; i++ {
		td := ts[i%nt]
		now := time.Now().UTC()
		due := now.Add(time.Hour)
		cb := enreach.Callback{ID: enreachtest.NewID(), CallbackListID: td.list.ID, ContactNumber: "+358401234567",
			ContactName: "Caller", ContactMessage: "Please call me back", QueueID: td.list.QueueID,
			CreatedTime: now, ModifiedTime: now, DueDate: &due}
		td.en.AddCallbacks(cb)
		cbs[i%nt] = append(cbs[i%nt], cb)
	}
	addCalls := func(half int) {
		for i, td := range ts {
			lo, hi := 0, calls[i]/2
			if half == 1 {
				lo, hi = calls[i]/2, calls[i]
			}
			for j := lo; j < hi; j++ {
				td.en.AddCalls(td.callOf(time.Minute + time.Duration(j)*time.Second))
			}
		}
	}
	reps := map[int]*replica{}
	addrs := map[int]string{}
	// With disruptCut each replica reaches the database through its own
	// proxy, which the test cuts.
	proxies := map[int]*cutProxy{}
	dbAddr := ""
	if how == disruptCut {
		m := regexp.MustCompile(`@([0-9.]+:[0-9]+)/`).FindStringSubmatch(d.env["DATABASE_URL"])
		if m == nil {
			t.Fatalf("no host:port in %s", d.env["DATABASE_URL"])
		}
		dbAddr = m[1]
	}
	start := func() {
		rd := d
		var p *cutProxy
		if dbAddr != "" {
			p = newCutProxy(t, dbAddr)
			env := map[string]string{}
			for k, v := range d.env {
				env[k] = v
			}
			env["DATABASE_URL"] = strings.Replace(d.env["DATABASE_URL"], dbAddr, p.addr, 1)
			rd = &doubles{config: d.config, env: env}
		}
		r := startReplica(t, rd)
		reps[r.cmd.Process.Pid] = r
		proxies[r.cmd.Process.Pid] = p
		addrs[r.cmd.Process.Pid] = publicAddr(t, r)
	}
	// cutOff is the replica whose connection is cut now (0: none).
	cutOff := 0
	// The first half of the calls is there when the replicas start (their
	// first cycles and the hand-over of tenants from the replica that
	// started first run with work); the second half arrives mid-run.
	addCalls(0)
	for i := 0; i < 3; i++ {
		start()
	}
	// Webhooks go round-robin to the live replicas, as a load balancer
	// in front of them sends them.
	next := 0
	post := func(half int) {
		var live []string
		for pid, a := range addrs {
			if reps[pid].cmd.ProcessState == nil && pid != cutOff {
				live = append(live, a)
			}
		}
		sort.Strings(live)
		for i, td := range ts {
			lo, hi := 0, len(cbs[i])/2
			if half == 1 {
				lo, hi = len(cbs[i])/2, len(cbs[i])
			}
			for _, cb := range cbs[i][lo:hi] {
				url := "http://" + live[next%len(live)] + "/webhooks/enreach/" + td.name
				next++
				status, body, err := td.en.SendWebhook(ctx, url, webhookToken, enreachtest.NewCallbackDelivery(enreach.EventCallbackCreated, cb))
				if err != nil || status != http.StatusOK {
					t.Fatalf("webhook to %s: %d %s %v", url, status, body, err)
				}
			}
		}
	}
	written := func(i int) int { return len(ts[i].dyn.PhoneCalls()) }
	want := func(i, half int) int {
		if half == 0 {
			return calls[i]/2 + len(cbs[i])/2
		}
		return calls[i] + len(cbs[i])
	}
	waitAll := func(half int) {
		waitProgress(t, fmt.Sprintf("every tenant's calls and callbacks written (part %d)", half+1), func() (int, int, string) {
			done, all := 0, 0
			var short []string
			for i, td := range ts {
				n, w := written(i), want(i, half)
				done += min(n, w)
				all += w
				if n < w {
					short = append(short, fmt.Sprintf("%s %d/%d", td.name, n, w))
				}
			}
			return done, all, fmt.Sprintf("short: %s; leases: %s", strings.Join(short, ", "), leaseSummary(t, st))
		})
	}
	post(0)
	waitAll(0)

	// The victim: the replica holding the most tenants now.
	ls, err := st.Leases(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := map[string][]string{}
	for _, l := range ls {
		if l.Name != "~purge" && l.ExpiresAt.After(time.Now()) {
			held[l.Holder] = append(held[l.Holder], l.Name)
		}
	}
	var victim string
	for h, names := range held {
		if victim == "" || len(names) > len(held[victim]) {
			victim = h
		}
	}
	r, ok := reps[pidOf(victim)]
	if !ok || len(held[victim]) == 0 {
		t.Fatalf("no replica holds a tenant: %v", held)
	}
	addCalls(1)
	killed := time.Now().UTC()
	switch how {
	case disruptKill:
		if err := r.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		r.cmd.Wait()
		post(1)
		start() // the replacement: it gets a share as the others hand tenants over
	case disruptCut:
		cutOff = r.cmd.Process.Pid
		proxies[cutOff].Cut()
		post(1)
		time.Sleep(time.Until(killed.Add(cutDuration())))
		proxies[cutOff].Restore()
		cutOff = 0
	}
	waitAll(1)
	time.Sleep(3 * time.Second) // anything written twice would show by now
	for i, td := range ts {
		if n := written(i); n != want(i, 1) {
			t.Errorf("%s: %d phone calls in the CRM, want %d (%d calls, %d callbacks, each once)", td.name, n, want(i, 1), calls[i], len(cbs[i]))
		}
		keys := map[string]bool{}
		for _, pc := range td.dyn.PhoneCalls() {
			if keys[pc.ID] {
				t.Errorf("%s: activity %s twice", td.name, pc.ID)
			}
			keys[pc.ID] = true
		}
	}
	// Takeover of each of the victim's tenants within 60 s, and no tenant's
	// calls on two replicas at once.
	var worst time.Duration
	for _, name := range held[victim] {
		runs, err := st.JobRuns(ctx, name, "calls")
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(runs, func(i, j int) bool { return runs[i].StartedAt.Before(runs[j].StartedAt) })
		var takeover time.Duration
		for _, run := range runs {
			if run.Replica != victim && !run.StartedAt.Before(killed) {
				takeover = run.StartedAt.Sub(killed)
				break
			}
		}
		if takeover == 0 || takeover > 60*time.Second {
			t.Errorf("%s: no other replica ran its calls within 60 s of the %s (took %s)", name, how, takeover)
		}
		worst = max(worst, takeover)
	}
	for _, td := range ts {
		runs, err := st.JobRuns(ctx, td.name, "calls")
		if err != nil {
			t.Fatal(err)
		}
		sort.Slice(runs, func(i, j int) bool { return runs[i].StartedAt.Before(runs[j].StartedAt) })
		for i := 1; i < len(runs); i++ {
			prev, run := runs[i-1], runs[i]
			end := prev.FinishedAt
			if end.IsZero() {
				end = killed
			}
			if prev.Replica != run.Replica && run.StartedAt.Before(end) {
				t.Errorf("calls of %s ran on %s (%s–%s) and %s (from %s) at once", td.name, prev.Replica, prev.StartedAt, end, run.Replica, run.StartedAt)
			}
		}
	}
	t.Logf("%d tenants, %d calls, %d webhooks on 3 replicas; %s of %s holding %d tenants; slowest takeover %s (lease_ttl 3s)",
		nt, nc, nw, how, victim, len(held[victim]), worst.Round(time.Millisecond))
}

// stallAfter is how long waitProgress waits without any progress: a
// replica's minute cycle (and a takeover after a kill) falls well within
// it, however slow the machine; the whole wait grows with the work.
const stallAfter = 3 * time.Minute

// waitProgress polls progress every second until done reaches want. It
// fails only when done has not grown for stallAfter (not after a fixed
// time, which a loaded machine exceeds with more work), saying how far it
// got and what detail (e.g. the tenants short) tells.
func waitProgress(t *testing.T, what string, progress func() (done, want int, detail string)) {
	t.Helper()
	start := time.Now()
	best, last := -1, time.Now()
	logged := time.Now()
	for {
		done, want, detail := progress()
		if done >= want {
			t.Logf("%s: %d of %d after %s", what, done, want, time.Since(start).Round(time.Second))
			return
		}
		if done > best {
			best, last = done, time.Now()
		}
		if time.Since(logged) > 30*time.Second {
			logged = time.Now()
			t.Logf("%s: %d of %d after %s; %s", what, done, want, time.Since(start).Round(time.Second), detail)
		}
		if time.Since(last) > stallAfter {
			t.Fatalf("waiting for %s: %d of %d, no progress for %s (%s in all); %s", what, done, want, stallAfter, time.Since(start).Round(time.Second), detail)
		}
		time.Sleep(time.Second)
	}
}

func (h disruption) String() string {
	if h == disruptCut {
		return fmt.Sprintf("database connection cut for %s", cutDuration())
	}
	return "SIGKILL"
}

// leaseSummary says which replica holds how many unexpired leases.
func leaseSummary(t *testing.T, st *store.Store) string {
	ls, err := st.Leases(context.Background())
	if err != nil {
		return err.Error()
	}
	held := map[string]int{}
	for _, l := range ls {
		if l.ExpiresAt.After(time.Now()) {
			held[l.Holder]++
		} else {
			held["expired"]++
		}
	}
	return fmt.Sprint(held)
}
