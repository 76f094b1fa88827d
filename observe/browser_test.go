package observe_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gomode/mode/observe"
)

// browserPath finds a Chromium or Chrome to drive.
func browserPath() (string, error) {
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser or google-chrome on PATH nor /usr/bin/chromium (.ci/run installs Debian's chromium)")
}

// newBrowser starts a headless browser for the test, closed when the test
// ends (register it after the server it visits, so that it closes first);
// it skips the test, saying why, when no browser can be started.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := browserPath()
	if err != nil {
		t.Skip("browser test skipped: ", err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	stop := func() {
		_ = chromedp.Cancel(ctx)
		cancel()
		cancelAlloc()
	}
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		stop()
		t.Skipf("browser test skipped: cannot start %s: %v", path, err)
	}
	t.Cleanup(stop)
	return ctx
}

// within runs steps with a deadline, failing the test on error.
func within(t *testing.T, ctx context.Context, d time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// poll waits until the page's expression is true.
func poll(expr string) chromedp.Action[chromedp.Void] {
	p := chromedp.Poll[bool](expr)
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := p(ctx, tg)
		return chromedp.Void{}, err
	}
}

func row(path string) string { return fmt.Sprintf(`li.node[data-path=%q]`, path) }

func rowJS(path string) string { return fmt.Sprintf("document.querySelector('%s')", row(path)) }

// TestBrowser drives the page in a headless browser: the tree is drawn, a
// crash is pushed, a subtree collapses, the filter filters, the controls
// work, and a screenshot is taken.
func TestBrowser(t *testing.T) {
	tt := startTree(t, 0)
	const evil = `<img id="xss" src="x">` // a label is text, never HTML
	if err := tt.root.Add(context.Background(), waitFunc(evil)); err != nil {
		t.Fatal(err)
	}
	srv := serve(t, &observe.Handler{Root: tt.root, Controls: true})
	off := serve(t, &observe.Handler{Root: tt.root})
	ctx := newBrowser(t)
	const wait = 30 * time.Second

	within(t, ctx, wait, "load", chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(row("root/inner/w")),
		chromedp.WaitVisible(`#conn[data-conn="live"]`))
	states, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries([...document.querySelectorAll('li.node')].map(li => [li.dataset.path, li.dataset.state]))`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"root": "running", "root/a": "running", "root/w": "running", "root/ticker": "running",
		"root/inner": "running", "root/inner/c": "running", "root/inner/w": "running", "root/" + evil: "running"}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Fatalf("drawn %v, want %v", states, want)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('tree').innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('#xss').length`)); err != nil || n != 0 {
		t.Fatalf("a label became HTML: %d %v", n, err)
	}
	for _, s := range []string{"Supervisor(root)", "one_for_one, restarts 0 of 1000000 in 1m0s", "timer tick: runs 0", "8 services · 8 running", evil} {
		if !strings.Contains(text+document(t, ctx), s) {
			t.Errorf("the page lacks %q", s)
		}
	}

	// A crash, pushed: state, restart count, reason, flash.
	tt.svc["root/inner/c"].Crash(errors.New("boom from the test"))
	c := rowJS("root/inner/c")
	within(t, ctx, wait, "crash pushed", poll(c+`.dataset.restarts === "1" && `+c+`.dataset.state === "running" && Number(`+c+`.dataset.flashes) >= 1 && `+
		c+`.querySelector('.crash').textContent.includes('boom from the test')`))

	// Collapse and expand a subtree.
	toggle := row("root/inner") + " > .row > .toggle"
	within(t, ctx, wait, "collapse", chromedp.Click(toggle),
		chromedp.WaitNotVisible(row("root/inner/c")), chromedp.WaitNotVisible(row("root/inner/w")),
		chromedp.WaitVisible(row("root/a")),
		poll(rowJS("root/inner")+`.querySelector('.below').textContent === '2 below: 2 running'`))
	// The filter finds a service inside the collapsed subtree, and hides
	// those that do not match (but the ancestors).
	within(t, ctx, wait, "filter", chromedp.SendKeys("#filter", "inner/w"),
		chromedp.WaitVisible(row("root/inner/w")), chromedp.WaitNotVisible(row("root/inner/c")),
		chromedp.WaitNotVisible(row("root/a")), chromedp.WaitVisible(row("root/inner")))
	within(t, ctx, wait, "unfilter",
		chromedp.Evaluate[chromedp.Void](`(f => { f.value = ''; f.dispatchEvent(new Event('input')) })(document.getElementById('filter'))`),
		chromedp.WaitVisible(row("root/a")), chromedp.WaitNotVisible(row("root/inner/c")),
		chromedp.Click(toggle), chromedp.WaitVisible(row("root/inner/c")))

	// Controls: terminate, then restart, with the buttons.
	w := rowJS("root/inner/w")
	within(t, ctx, wait, "terminate", chromedp.Click(row("root/inner/w")+` > .row button[data-action="terminate"]`),
		poll(w+`.dataset.state === "shutdown" && `+w+`.dataset.terminated === "true"`))
	within(t, ctx, wait, "restart", chromedp.Click(row("root/inner/w")+` > .row button[data-action="restart"]`),
		poll(w+`.dataset.state === "running" && `+w+`.dataset.terminated === "false"`))

	if errs, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.dataset.errors || ''`)); err != nil || errs != "" {
		t.Errorf("page script errors: %q (%v): %s", errs, err, document(t, ctx))
	}

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "page.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil || img.Bounds().Dx() < 100 || img.Bounds().Dy() < 100 {
		t.Fatalf("screenshot: %v, %v", err, img)
	}
	t.Logf("screenshot %s: %d bytes, %v", file, len(shot), img.Bounds().Size())

	// Without Controls, no buttons.
	within(t, ctx, wait, "page without controls", chromedp.Navigate(off.URL+"/"),
		chromedp.WaitVisible(row("root/inner/w")))
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('button.ctl').length`)); err != nil || n != 0 {
		t.Fatalf("%d control buttons (%v), want none", n, err)
	}
}

// document returns the page's header and tree text.
func document(t *testing.T, ctx context.Context) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBrowserThousand: the page of a 1,007-service tree loads, filters and
// follows a crash within a few seconds.
func TestBrowserThousand(t *testing.T) {
	tt := startTree(t, 1000)
	srv := serve(t, &observe.Handler{Root: tt.root})
	ctx := newBrowser(t)
	start := time.Now()
	within(t, ctx, 30*time.Second, "load", chromedp.Navigate(srv.URL+"/"),
		poll(`document.querySelectorAll('li.node').length === 1007`),
		chromedp.WaitVisible(`#conn[data-conn="live"]`))
	loaded := time.Since(start)
	// A list of 1,002 children starts collapsed, its states summed up.
	within(t, ctx, 30*time.Second, "collapsed", chromedp.WaitNotVisible(row("root/inner/x0")),
		poll(rowJS("root/inner")+`.querySelector('.below').textContent === '1002 below: 1002 running'`))
	within(t, ctx, 30*time.Second, "filter", chromedp.SendKeys("#filter", "x999"),
		poll(`[...document.querySelectorAll('li.node')].filter(li => !li.hidden).length === 3`))
	filtered := time.Since(start)
	tt.svc["root/inner/x999"].Crash(errors.New("boom"))
	x := rowJS("root/inner/x999")
	within(t, ctx, 30*time.Second, "crash pushed", poll(x+`.dataset.restarts === "1" && `+x+`.dataset.state === "running"`))
	total := time.Since(start)
	t.Logf("1,007 services: drawn in %v, filtered at %v, crash shown at %v", loaded, filtered, total)
	if total > 10*time.Second {
		t.Errorf("the 1,007-service page took %v", total)
	}
}
