package service_test

// Review 21: attacks on the merged children step of a plain Base parent
// (6723368: unreached, kidsUp, startKid's wait, RemoveDependency during
// the step, the rollback of a child's own Restart).

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode/service"
)

// r21down fails the test if s or any service below it is Running,
// Starting or Stopping (the tree after its root's Stop, or under a parent
// rolled back to Init).
func r21down(t *testing.T, what string, s service.Service) {
	t.Helper()
	for _, d := range r21tree(s) {
		switch st := d.State(); st {
		case service.Init, service.Shutdown:
		default:
			t.Errorf("%s: %s is %v", what, d.Label(), st)
		}
	}
}

// r21tree is s and its descendants (through their nodes).
func r21tree(s service.Service) []service.Service {
	out := []service.Service{s}
	for _, c := range s.Node().Children() {
		if cs, ok := c.Value().(service.Service); ok {
			out = append(out, r21tree(cs)...)
		}
	}
	return out
}

// TestReview21KidsStepScale: the children step and its rollback are
// linear in the number of children. kidsUp (children running when the
// step began) and the rollback's record of the children it started were
// looked up with slices.Contains per child: 100k children all running
// when the step began, or all started by a start that then failed, took
// 13 s (n² comparisons) instead of 80 ms. The bound is generous: four
// times the start of the same parent with no child running, plus a
// second (the quadratic code took 10 to 20 times as long at 50k).
func TestReview21KidsStepScale(t *testing.T) {
	const n = 30_000
	var base time.Duration // "none running", the first case
	for _, how := range []string{"none running", "all running", "rolled back"} {
		t.Run(how, func(t *testing.T) {
			ctx := bg(t)
			p := newHookSvc("p")
			kids := make([]*service.Base, n)
			for i := range kids {
				k := &service.Base{}
				k.Configure(service.Config{Logger: &quiet})
				must(t, p.AddDependency(k))
				kids[i] = k
			}
			if how == "all running" {
				for _, k := range kids {
					must(t, service.Start(ctx, k))
				}
			}
			fail := errors.New("OnStarted fails")
			if how == "rolled back" {
				p.onStarted = func(context.Context) error { return fail }
			}
			began := time.Now()
			err := service.Start(ctx, p)
			took := time.Since(began)
			if how == "rolled back" != errors.Is(err, fail) {
				t.Fatalf("Start: %v", err)
			}
			if how == "none running" {
				base = took
			} else if took > 4*base+time.Second {
				t.Errorf("start of a parent of %d children (%s): %v, against %v with none running", n, how, took, base)
			}
			must(t, p.Stop(ctx))
			if how == "all running" {
				for _, k := range kids { // they ran before p: p's start left them alone
					_ = k.Stop(ctx)
				}
			}
			r21down(t, "after Stop", p)
		})
	}
}
