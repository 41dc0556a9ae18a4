package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"

	"github.com/callsync/callsync/crm/dynamics/dynamicstest"
	"github.com/callsync/callsync/enreach/enreachtest"
)

// DirectoryResult is a full load of the phone directory by the real binary
// (`callsync directory sync --full`) from the Dynamics double.
type DirectoryResult struct {
	Records     int     `json:"crm_records"`
	Loaded      int     `json:"records_read"`
	Numbers     int     `json:"numbers"`
	Unparseable int     `json:"unparseable"`
	Requests    int     `json:"crm_requests"`
	WallSec     float64 `json:"wall_seconds"`
	RecordsPerS float64 `json:"records_per_second"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
	ChildCPUSec float64 `json:"child_cpu_seconds"`
	// StoreBytes is the SQLite store (file and WAL) after the load;
	// BytesPerMillion is that per million numbers.
	StoreBytes      int64    `json:"store_bytes"`
	BytesPerMillion float64  `json:"store_bytes_per_million_numbers"`
	OK              bool     `json:"ok"`
	Problems        []string `json:"problems,omitempty"`
}

var directorySummaryRE = regexp.MustCompile(`records (\d+), numbers (\d+), unparseable (\d+), removed \d+, skipped \d+, requests (\d+)`)

// directoryForm is how record i stores its number: E.164, international
// with spaces, national with a dash, in turn (cheap to make for a million).
func directoryForm(i int) string {
	d := fmt.Sprintf("%07d", i)
	switch i % 3 {
	case 0:
		return "+35840" + d
	case 1:
		return "+358 40 " + d[:3] + " " + d[3:]
	}
	return "040-" + d[:3] + " " + d[3:]
}

// runDirectory seeds records contacts in a Dynamics double and times a full
// load of the phone directory through the latency proxy.
func runDirectory(ctx context.Context, o options, bin string, records int) (DirectoryResult, error) {
	r := DirectoryResult{Records: records}
	dir, err := os.MkdirTemp("", "callsync-bench-directory-")
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	srv := dynamicstest.NewServer(dynamicstest.Options{})
	c := &dynamicsOrg{srv: srv}
	defer c.Close()
	en := enreachtest.NewServer()
	defer en.Close()
	for i := range records {
		srv.AddContact(dynamicstest.Record{Name: "Customer", Phones: map[string]string{"mobilephone": directoryForm(i)}})
	}
	proxy := newDelayProxy(o.Latency, c.Backends()...)
	defer proxy.Close()
	db := filepath.Join(dir, "callsync.db")
	cfg := filepath.Join(dir, "callsync.yaml")
	yaml := fmt.Sprintf(`store: {path: %q}
log: {format: text, level: warn}
tenants:
  - name: bench
    default_region: FI
    enreach:
      api_url: %s
      user: %s
      secret_key: ${EN_SECRET}
%s`, db, en.URL, en.User, c.CRMYAML(proxy.URL))
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return r, err
	}
	before := c.Requests()
	usageFile := filepath.Join(dir, "rusage.json")
	cmd, err := launch(ctx, usageFile, bin, "directory", "sync", "--config", cfg, "--full")
	if err != nil {
		return r, err
	}
	cmd.Env = append(cmd.Env, "EN_SECRET="+en.Secret)
	if o.ProfileDir != "" {
		if err := os.MkdirAll(o.ProfileDir, 0o755); err != nil {
			return r, err
		}
		base := filepath.Join(o.ProfileDir, fmt.Sprintf("directory-%d", records))
		cmd.Env = append(cmd.Env, childProfileEnv(base)...)
	}
	for k, v := range c.Env() {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = io.MultiWriter(&stderr, &progressWriter{w: o.Progress, every: 10 * time.Second})
	start := time.Now()
	runErr := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		return r, fmt.Errorf("directory load: %w", runErr)
	}
	u, err := readUsage(usageFile)
	if err != nil {
		return r, fmt.Errorf("directory load: %w (callsync: %v: %s)", err, runErr, lastLines(stderr.String(), 5))
	}
	r.WallSec = wall.Seconds()
	r.PeakRSSMiB = float64(u.MaxRSSKiB) / 1024
	r.ChildCPUSec = u.UserSec + u.SysSec
	r.Requests = c.Requests() - before
	if m := directorySummaryRE.FindStringSubmatch(stdout.String()); m != nil {
		r.Loaded, _ = strconv.Atoi(m[1])
		r.Numbers, _ = strconv.Atoi(m[2])
		r.Unparseable, _ = strconv.Atoi(m[3])
	} else {
		r.Problems = append(r.Problems, "no summary line in the output: "+lastLines(stdout.String()+stderr.String(), 3))
	}
	r.RecordsPerS = float64(r.Loaded) / wall.Seconds()
	for _, f := range []string{db, db + "-wal"} {
		if st, err := os.Stat(f); err == nil {
			r.StoreBytes += st.Size()
		}
	}
	if r.Numbers > 0 {
		r.BytesPerMillion = float64(r.StoreBytes) / float64(r.Numbers) * 1e6
	}
	if runErr != nil {
		r.Problems = append(r.Problems, fmt.Sprintf("callsync exited: %v: %s", runErr, lastLines(stderr.String(), 5)))
	}
	if r.Loaded != records || r.Numbers != records {
		r.Problems = append(r.Problems, fmt.Sprintf("read %d records and %d numbers, expected %d of each", r.Loaded, r.Numbers, records))
	}
	r.OK = len(r.Problems) == 0
	return r, nil
}
