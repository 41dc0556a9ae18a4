package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callsync/callsync/config"
	"github.com/callsync/callsync/enreach"
	"github.com/callsync/callsync/enreach/enreachtest"
	"github.com/callsync/callsync/jobs"
	"github.com/callsync/callsync/server"
)

// WebhookResult is the webhook phase: the server/ receiver committing every
// delivery to the SQLite inbox (WAL, synchronous=NORMAL, as store.Open sets
// it) before it answers, on loopback, no latency. Two passes: Max, senders
// posting back to back (the most it stores per second), and Paced, the
// deliveries offered at a fixed rate (the ack latency at that load, measured
// from each delivery's scheduled time).
type WebhookResult struct {
	Max       WebhookPass `json:"max"`
	Paced     WebhookPass `json:"paced"`
	BodyBytes int         `json:"body_bytes"`
	// Stored is the pending inbox rows after both passes.
	Stored   int      `json:"stored_pending"`
	Problems []string `json:"problems,omitempty"`
}

// WebhookPass is one pass of deliveries.
type WebhookPass struct {
	Deliveries  int     `json:"deliveries"`
	Senders     int     `json:"senders"`
	OfferedPerS float64 `json:"offered_per_second,omitempty"` // paced only
	WallSec     float64 `json:"wall_seconds"`
	PerSecond   float64 `json:"stored_per_second"`
	AckP50MS    float64 `json:"ack_p50_ms"`
	AckP99MS    float64 `json:"ack_p99_ms"`
	AckMaxMS    float64 `json:"ack_max_ms"`
	Accepted    int     `json:"accepted"`
	CPUSec      float64 `json:"cpu_seconds"` // the whole process: senders too
}

const webhookToken = "bench-webhook-token"

func runWebhooks(ctx context.Context, o options) (WebhookResult, error) {
	var r WebhookResult
	st, remove, err := tempStore(ctx, "webhooks")
	if err != nil {
		return r, err
	}
	defer remove()
	defer st.Close()

	list := enreachtest.NewID()
	cfg := config.DefaultTenant()
	cfg.Name, cfg.DefaultRegion = "bench", "FI"
	cfg.Enreach.WebhookToken = webhookToken
	p := config.DefaultProfile()
	p.Name, p.CallbackListID, p.SyncMethod, p.Active = "web", list, config.SyncWebhook, true
	cfg.Callbacks.Profiles = []config.Profile{p}
	reg := jobs.NewRegistry(jobs.NewTenant(cfg, nil, nil, nil))
	mux := http.NewServeMux()
	server.NewWebhook(reg, st, server.WebhookOptions{Notify: func() {}}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	url := srv.URL + "/webhooks/enreach/" + cfg.Name

	bodies := make([][]byte, 2*o.Webhooks)
	org := enreachtest.NewID()
	for i := range bodies {
		d := enreachtest.NewCallbackDelivery(enreach.EventCallbackCreated, enreach.Callback{
			ID: enreachtest.NewID(), CallbackListID: list, ContactNumber: fmt.Sprintf("+35840%07d", 1000000+i),
			CreatedTime: time.Now().UTC().Truncate(time.Second), Note: "Please call me back about my order",
		})
		d.RootEntityType, d.RootEntityID = "Organization", org
		bodies[i] = enreachtest.MarshalDelivery(d)
	}
	r.BodyBytes = len(bodies[0])

	senders := max(o.WebhookSenders, 64)
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: senders, MaxIdleConnsPerHost: senders}, Timeout: 30 * time.Second}
	send := func(body []byte) (string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set(enreach.HeaderEvent, enreach.EventCallbackCreated)
		req.Header.Set(enreach.HeaderToken, webhookToken)
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var a struct{ Status string }
		_ = json.Unmarshal(b, &a)
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
		}
		return a.Status, nil
	}
	// pass sends bodies with n senders; with rate > 0 delivery i is due at
	// start + i/rate (paced).
	pass := func(bodies [][]byte, n int, rate float64) WebhookPass {
		p := WebhookPass{Deliveries: len(bodies), Senders: n, OfferedPerS: rate}
		var (
			next     atomic.Int64
			accepted atomic.Int64
			mu       sync.Mutex
			lat      = make([]time.Duration, 0, len(bodies))
			problems []string
			wg       sync.WaitGroup
		)
		cpu0 := rusageSelf()
		start := time.Now()
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mine := make([]time.Duration, 0, len(bodies)/n+1)
				for {
					i := int(next.Add(1)) - 1
					if i >= len(bodies) || ctx.Err() != nil {
						break
					}
					due := time.Now()
					if rate > 0 {
						due = paced(start, i, rate)
					}
					status, err := send(bodies[i])
					took := time.Since(due)
					if err != nil {
						mu.Lock()
						problems = append(problems, err.Error())
						mu.Unlock()
						continue
					}
					if status == "accepted" {
						accepted.Add(1)
					}
					mine = append(mine, took)
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		p.CPUSec = round2((rusageSelf() - cpu0).Seconds())
		p.WallSec = round2(wall.Seconds())
		p.PerSecond = round2(float64(len(lat)) / wall.Seconds())
		p.AckP50MS = ms(quantile(lat, 0.50))
		p.AckP99MS = ms(quantile(lat, 0.99))
		p.AckMaxMS = ms(quantile(lat, 1))
		p.Accepted = int(accepted.Load())
		if len(problems) > 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("%d deliveries failed, first: %s", len(problems), problems[0]))
		}
		if p.Accepted != len(bodies) {
			r.Problems = append(r.Problems, fmt.Sprintf("%d of %d deliveries accepted", p.Accepted, len(bodies)))
		}
		return p
	}
	half := len(bodies) / 2
	r.Max = pass(bodies[:half], o.WebhookSenders, 0)
	r.Paced = pass(bodies[half:], senders, o.WebhookRate)
	pending, err := st.PendingInbox(ctx, len(bodies)+1)
	if err != nil {
		return r, err
	}
	r.Stored = len(pending)
	if r.Stored != len(bodies) {
		r.Problems = append(r.Problems, fmt.Sprintf("the inbox holds %d pending deliveries, expected %d", r.Stored, len(bodies)))
	}
	return r, nil
}
