package observe

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// readyCheck is a readiness check in progress that /readyz requests
// arriving meanwhile share (readyz.check).
type readyCheck struct {
	done     chan struct{} // closed once rep is set
	rep      Report
	waiters  int                     // requests waiting for it (readyz.mu)
	deadline time.Time               // its end: the latest of its requests' timeouts (readyz.mu)
	timer    *time.Timer             // ends it at deadline
	cancel   context.CancelCauseFunc // ends it: once it is over, at deadline, or once none waits
}

// checkCtx is a check's ctx: its deadline is the check's, which moves
// later when a request with a later one comes to share it, and its end at
// the deadline reads as context.DeadlineExceeded. The contexts derived
// from it (a Healthcheck's) end with it, in the same call (it is a
// context.WithCancelCause: a ctx of another type would end them on a
// goroutine, too late for CheckHealth, which would abandon the
// Healthchecks that honour their ctx), but read context.Canceled, their
// context.Cause DeadlineExceeded.
type checkCtx struct {
	context.Context // ended by readyCheck.cancel
	z               *readyz
	c               *readyCheck
}

func (x checkCtx) Deadline() (time.Time, bool) {
	x.z.mu.Lock()
	defer x.z.mu.Unlock()
	return x.c.deadline, true
}

func (x checkCtx) Err() error {
	err := x.Context.Err()
	if err != nil && context.Cause(x.Context) == context.DeadlineExceeded {
		return context.DeadlineExceeded
	}
	return err
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
// makes. A check runs on a goroutine of its own under a ctx of its own,
// bounded by the latest timeout of the requests sharing it (a request
// with a later one extends it: a probe with a short ?timeout must not make
// one with a longer one fail), and ends early once every request sharing
// it has ended (its client gone, the server stopping, its timeout). A
// request whose ctx or timeout ends first gets a report saying so.
func (z *readyz) check(ctx context.Context, name string, d time.Duration, run func(context.Context) Report) Report {
	z.mu.Lock()
	c := z.cur
	mine := time.Now().Add(d)
	if c == nil {
		c = &readyCheck{done: make(chan struct{}), deadline: mine}
		base, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
		c.cancel = cancel
		c.timer = time.AfterFunc(d, func() { cancel(context.DeadlineExceeded) })
		z.cur = c
		go z.run(c, checkCtx{base, z, c}, name, run)
	} else if mine.After(c.deadline) {
		c.deadline = mine
		c.timer.Reset(d)
	}
	c.waiters++
	z.mu.Unlock()
	wait := time.NewTimer(d)
	defer wait.Stop()
	select {
	case <-c.done:
		z.leave(c)
		return c.rep
	case <-ctx.Done():
	case <-wait.C:
		// The check ends at this request's timeout too, unless another
		// request extended it: its report (a hung Healthcheck abandoned,
		// say) comes as the check's ctx ends.
		z.mu.Lock()
		last := !c.deadline.After(mine)
		z.mu.Unlock()
		if last {
			select {
			case <-c.done:
				z.leave(c)
				return c.rep
			case <-ctx.Done():
			}
		}
	}
	z.leave(c)
	f := Check{Service: name, Error: "the readiness check in progress (begun by an earlier probe) did not end within this probe's timeout"}
	return failed(f, true)
}

// leave is a request's end of its wait for c: the last one to leave ends
// c, if it still runs.
func (z *readyz) leave(c *readyCheck) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if c.waiters--; c.waiters == 0 {
		c.timer.Stop()
		c.cancel(context.Canceled)
		if z.cur == c { // nobody waits for it: a request now begins another
			z.cur = nil
		}
	}
}

// close ends the check in progress, if any, and waits for it: its
// goroutine is the Handler's, joined by Close. Readiness returns promptly
// once its ctx ends (CheckHealth abandons a Healthcheck that ignores it);
// the requests sharing it get its report.
func (z *readyz) close() {
	z.mu.Lock()
	c := z.cur
	z.mu.Unlock()
	if c != nil {
		c.cancel(context.Canceled)
		<-c.done
	}
}

// run runs check c and publishes its report; a panic is a failed check.
func (z *readyz) run(c *readyCheck, ctx context.Context, name string, run func(context.Context) Report) {
	var rep Report
	defer func() {
		if v := recover(); v != nil {
			f := Check{Service: name, Error: fmt.Sprintf("the readiness check panicked: %v", v)}
			rep = failed(f, true)
		}
		z.mu.Lock()
		c.timer.Stop()
		c.cancel(context.Canceled)
		if z.cur == c {
			z.cur = nil
		}
		c.rep = rep
		z.mu.Unlock()
		close(c.done)
	}()
	rep = run(ctx)
}

// serveReadyz serves /readyz: Readiness as JSON, 200 when ready, 503 when
// not. ?timeout=<Go duration> bounds the Healthchecks (default
// DefaultProbeTimeout, at least a second, at most a minute); ?verbose adds
// every service checked. Requests that arrive while a check runs share
// its report (each waits at most its own timeout, or until its request
// ends); the check itself runs bounded by the latest timeout of the
// requests sharing it, and is cut short once every request sharing it has
// ended (their clients gone, or the server stopping).
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
