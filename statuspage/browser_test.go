package statuspage_test

import (
	"bytes"
	"context"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds a Chromium or Chrome binary.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser starts a headless Chromium with a fresh profile, as root (CI) and
// offline: no component updates, no sync, no background networking.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		t.Skip("no chromium binary on PATH (Debian: apt-get install chromium; .ci/run installs it): the status page's browser test is skipped")
	}
	profile, err := os.MkdirTemp("", "callsync-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // tests run as root in CI
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1100, 1400),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelC()
		cancelA()
		// Chromium's children may still write to the profile for a moment.
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	// The first Run starts the browser and must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

type bar struct {
	Series string `json:"series"`
	Hour   string `json:"hour"`
	Value  string `json:"value"`
}

// step bounds one browser action generously: a loaded 2-core machine is
// slow; the test waits, it never measures time.
func step[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

func TestPageInBrowser(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t)
	srv := httptest.NewServer(f.handler("s3cret-token"))
	t.Cleanup(srv.Close)

	cctx, stopConsole := context.WithCancel(ctx)
	console := chromedp.Console(cctx)

	step(t, ctx, chromedp.Navigate(srv.URL+"/?token=s3cret-token"))
	step(t, ctx, chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	title := step(t, ctx, chromedp.Title())
	tenants := step(t, ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("section.tenant h2")).map(e => e.textContent).join("|")`))
	bars := step(t, ctx, chromedp.Evaluate[[]bar](`Array.from(document.querySelectorAll("#calls-acme rect.bar, #requests-acme rect.bar")).map(r => ({series: r.dataset.series, hour: r.dataset.hour, value: r.dataset.value}))`))
	// Every bar is drawn: it has a height on screen.
	empty := step(t, ctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("rect.bar")).filter(r => r.getBoundingClientRect().height <= 0).length`))
	shot := step(t, ctx, chromedp.FullScreenshot(90))

	if title != "callsync status" || !strings.Contains(tenants, "acme") || !strings.Contains(tenants, "globex") {
		t.Errorf("title %q, tenants %q", title, tenants)
	}
	var got []string
	for _, b := range bars {
		got = append(got, b.Series+" "+b.Hour+" "+b.Value)
	}
	sort.Strings(got)
	want := f.wantBars()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("chart bars in the browser:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if empty != 0 {
		t.Errorf("%d bars have no height on screen", empty)
	}
	img, _, err := image.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 600 {
		t.Errorf("screenshot %v: the page did not lay out", b)
	}

	// Read what the console received, then stop listening.
	time.AfterFunc(300*time.Millisecond, stopConsole)
	var problems []string
	for m, err := range console {
		if err != nil {
			break
		}
		switch m.Type {
		case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
			problems = append(problems, m.String()+" "+m.URL)
		}
	}
	if len(problems) > 0 {
		t.Errorf("browser console:\n%s", strings.Join(problems, "\n"))
	}
}

// Without the right token the browser gets 401 and no data.
func TestPageInBrowserNeedsToken(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t)
	srv := httptest.NewServer(f.handler("s3cret-token"))
	t.Cleanup(srv.Close)
	step(t, ctx, chromedp.Navigate(srv.URL+"/?token=wrong"))
	body := step(t, ctx, chromedp.Evaluate[string](`document.body.innerText`))
	charts := step(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart").length`))
	if charts != 0 || !strings.Contains(body, "token is required") {
		t.Errorf("wrong token: %d charts, body %q", charts, body)
	}
}
