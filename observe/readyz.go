package observe

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// readyCheck is a readiness check in progress that /readyz requests
// arriving meanwhile share (readyz.check).
type readyCheck struct {
	done    chan struct{} // closed once rep is set
	rep     Report
	waiters int                // requests waiting for it (readyz.mu)
	cancel  context.CancelFunc // ends it: once it is over, or none waits
}

// readyz shares readiness checks among concurrent /readyz requests of one
// Handler: /readyz needs no token, and without sharing any client could
// multiply the calls every Healthcheck makes to its dependencies by
// sending probes at once. Its zero value is ready.
type readyz struct {
	mu  sync.Mutex
	cur *readyCheck // the check in progress, if any
}

// check returns a readiness report for a request under ctx, bounded by d:
// that of the check in progress when it ends, else that of a check run
// makes under a ctx of its own, bounded by d. The request that begins a
// check runs it on its goroutine; the check ends early only once every
// request sharing it has ended (its client gone, the server stopping). A
// request whose ctx or timeout ends first gets a report saying so.
func (z *readyz) check(ctx context.Context, name string, d time.Duration, run func(context.Context) Report) Report {
	z.mu.Lock()
	c := z.cur
	var cctx context.Context
	if c == nil {
		c = &readyCheck{done: make(chan struct{})}
		cctx, c.cancel = context.WithTimeout(context.WithoutCancel(ctx), d)
		z.cur = c
	}
	c.waiters++
	z.mu.Unlock()
	leave := func() {
		z.mu.Lock()
		defer z.mu.Unlock()
		if c.waiters--; c.waiters == 0 {
			c.cancel()
			if z.cur == c { // nobody waits for it: a request now begins another
				z.cur = nil
			}
		}
	}
	gone := context.AfterFunc(ctx, leave)
	if cctx != nil { // this request runs it
		c.rep = run(cctx)
		c.cancel()
		z.mu.Lock()
		if z.cur == c {
			z.cur = nil
		}
		z.mu.Unlock()
		close(c.done)
		if gone() {
			leave()
		}
		return c.rep
	}
	wait := time.NewTimer(d)
	defer wait.Stop()
	select {
	case <-c.done:
		if gone() {
			leave()
		}
		return c.rep
	case <-ctx.Done(): // leave runs (AfterFunc)
	case <-wait.C:
		if gone() {
			leave()
		}
	}
	f := Check{Service: name, Error: "the readiness check in progress (begun by an earlier probe) did not end within this probe's timeout"}
	return Report{Status: statusFail, Failures: []Check{f}, Services: []Check{f}, ready: true}
}

// serveReadyz serves /readyz: Readiness as JSON, 200 when ready, 503 when
// not. ?timeout=<Go duration> bounds the Healthchecks (default
// DefaultProbeTimeout, at least a second, at most a minute); ?verbose adds
// every service checked. Requests that arrive while a check runs share
// its report (each waits at most its own timeout, or until its request
// ends); the check itself runs on the request that began it, bounded by
// that request's timeout, and is cut short only once every request
// sharing it has ended (their clients gone, or the server stopping).
func (h *Handler) serveReadyz(w http.ResponseWriter, r *http.Request) {
	d := DefaultProbeTimeout
	if v := r.URL.Query().Get("timeout"); v != "" {
		t, err := time.ParseDuration(v)
		if err != nil || t <= 0 {
			http.Error(w, "observe: bad timeout: want a positive Go duration such as 2s", http.StatusBadRequest)
			return
		}
		d = min(max(t, minProbeTimeout), maxProbeTimeout)
	}
	name := ""
	if !isNilService(h.Root) {
		name = validUTF8(h.Root.ShortLabel())
	}
	rep := h.ready.check(r.Context(), name, d, func(ctx context.Context) Report {
		return Readiness(ctx, h.Root)
	})
	writeReport(w, r, rep)
}
