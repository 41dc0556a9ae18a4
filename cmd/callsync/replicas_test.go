package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/callsync/callsync/store"
)

// replica is one `callsync run` child process (this test binary running
// main(), see TestMain).
type replica struct {
	cmd *exec.Cmd
	out syncBuffer
}

// log is what the replica printed so far.
func (r *replica) log() string { return r.out.String() }

// pidOf reads the process id out of a replica id (host-pid-random).
func pidOf(id string) int {
	var pid int
	rest := id[:strings.LastIndex(id, "-")]
	fmt.Sscanf(rest[strings.LastIndex(rest, "-")+1:], "%d", &pid)
	return pid
}

func startReplica(t *testing.T, d *doubles) *replica {
	t.Helper()
	return startReplicaEnv(t, d, nil)
}

// startReplicaEnv starts a replica whose environment differs from the
// others' by env.
func startReplicaEnv(t *testing.T, d *doubles, env map[string]string) *replica {
	t.Helper()
	r := &replica{cmd: exec.Command(os.Args[0])}
	r.cmd.Env = append(os.Environ(), "CALLSYNC_TEST_RUN_MAIN="+strings.Join([]string{"run", "--config", d.config}, "\x1f"))
	for k, v := range d.env {
		r.cmd.Env = append(r.cmd.Env, k+"="+v)
	}
	for k, v := range env {
		r.cmd.Env = append(r.cmd.Env, k+"="+v)
	}
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			r.cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { r.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				r.cmd.Process.Kill()
			}
		}
		if t.Failed() {
			t.Logf("replica %d log:\n%s", r.cmd.Process.Pid, r.out.String())
		}
	})
	return r
}

// waitFor polls cond every 100 ms until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Three `callsync run` processes on one PostgreSQL database: one runs the
// tenant; killed with SIGKILL, another takes the tenant over within 60 s
// and writes the calls that came meanwhile; every call is written once and
// the tenant's calls cycle never ran on two replicas at once (run history).
func TestReplicasFailoverAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three callsync processes")
	}
	d := newDoubles(t)
	d.onPostgres(t)
	b, err := os.ReadFile(d.config)
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(b), "  max_conns: 4\n", "  max_conns: 4\n  lease_ttl: 3s\n", 1)
	yaml = strings.Replace(yaml, "http: {listen: 127.0.0.1:0}", "http: {listen: 127.0.0.1:0, admin_listen: 127.0.0.1:0}", 1)
	if err := os.WriteFile(d.config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.OpenPostgres(ctx, d.env["DATABASE_URL"], store.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const first, second = 6, 4
	for i := 0; i < first; i++ {
		d.en.AddCalls(callEndedAgo(d, time.Minute+time.Duration(i)*time.Second))
	}
	reps := map[int]*replica{}
	for i := 0; i < 3; i++ {
		r := startReplica(t, d)
		reps[r.cmd.Process.Pid] = r
	}
	waitFor(t, 90*time.Second, "the first calls written", func() bool { return len(d.dyn.PhoneCalls()) == first })
	holder := func() string {
		ls, err := st.Leases(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			if l.Name == "contoso" && l.ExpiresAt.After(time.Now()) {
				return l.Holder
			}
		}
		return ""
	}
	var victim string
	waitFor(t, 30*time.Second, "a holder of tenant contoso", func() bool { victim = holder(); return victim != "" })
	r, ok := reps[pidOf(victim)]
	if !ok {
		t.Fatalf("lease holder %q is none of the replicas %v", victim, reps)
	}
	for i := 0; i < second; i++ {
		d.en.AddCalls(callEndedAgo(d, time.Minute+time.Duration(first+i)*time.Second))
	}
	killed := time.Now().UTC()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	r.cmd.Wait()

	waitFor(t, 90*time.Second, "the calls after the kill written", func() bool { return len(d.dyn.PhoneCalls()) == first+second })
	time.Sleep(2 * time.Second)
	if n := len(d.dyn.PhoneCalls()); n != first+second {
		t.Fatalf("%d phone calls in the CRM, want %d (each call once)", n, first+second)
	}
	runs, err := st.JobRuns(ctx, "contoso", "calls")
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].StartedAt.Before(runs[j].StartedAt) })
	var takeover time.Duration
	for i, run := range runs {
		if run.Replica == "" {
			t.Fatalf("run %d has no replica", run.ID)
		}
		if takeover == 0 && run.Replica != victim && !run.StartedAt.Before(killed) {
			takeover = run.StartedAt.Sub(killed)
		}
		if i == 0 {
			continue
		}
		prev := runs[i-1]
		end := prev.FinishedAt
		if end.IsZero() {
			end = killed // the killed replica's run ended with it
		}
		if prev.Replica != run.Replica && run.StartedAt.Before(end) {
			t.Errorf("calls of contoso ran on %s (%s–%s) and %s (from %s) at once", prev.Replica, prev.StartedAt, end, run.Replica, run.StartedAt)
		}
	}
	if takeover == 0 || takeover > 60*time.Second {
		t.Fatalf("no other replica ran contoso's calls within 60 s of the kill (takeover %s): %+v", takeover, runs)
	}
	// status shows the replicas and who holds the tenant now.
	now := holder()
	out, _, err := run(t, d.env, "status", "--config", d.config)
	if err != nil {
		t.Fatal(err)
	}
	if now == "" || now == victim || !strings.Contains(out, "replicas: ") || !regexp.MustCompile(regexp.QuoteMeta(now)+`.*holds \d+: .*contoso`).MatchString(out) {
		t.Errorf("status does not show %s holding contoso:\n%s", now, out)
	}
	t.Logf("takeover %s after SIGKILL (lease_ttl 3s), %d calls runs on %d replicas", takeover.Round(time.Millisecond), len(runs), countReplicas(runs))
}

func countReplicas(runs []store.Run) int {
	m := map[string]bool{}
	for _, r := range runs {
		m[r.Replica] = true
	}
	return len(m)
}
