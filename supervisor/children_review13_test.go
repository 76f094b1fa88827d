package supervisor_test

import (
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// TestReview13ChildInfoService: ChildInfo.Service is the service Child(ID)
// returns, and the node under the supervisor, after each operation that
// changes what is under an ID: a Replacement's restart (the fresh one), a
// Terminate (the stopped one, kept), a Remove (no entry), and a stopped
// supervisor (its children kept).
func TestReview13ChildInfoService(t *testing.T) {
	ctx := bg(t)
	ev := newEvents()
	s := newSup(supervisor.Spec{}, ev)
	factory := func() service.Service { return newWorker("") }
	must(t, s.Add(ctx, newWorker("a")))
	must(t, s.Add(ctx, factory(), supervisor.ChildSpec{ID: "r", Replacement: factory}))
	must(t, s.Add(ctx, newWorker("t")))
	must(t, s.Add(ctx, newWorker("gone")))
	must(t, service.Start(ctx, s))
	check := func(step string, ids ...string) {
		t.Helper()
		infos := s.Children()
		var got []string
		for _, ci := range infos {
			got = append(got, ci.ID)
			if ci.Service == nil || ci.Service != s.Child(ci.ID) {
				t.Errorf("%s: %s's Service %p, Child %p", step, ci.ID, ci.Service, s.Child(ci.ID))
				continue
			}
			if p := ci.Service.Node().Parent(); p != s.Node() {
				t.Errorf("%s: %s's Service is not the node under the supervisor", step, ci.ID)
			}
			if ci.Label != ci.Service.Label() {
				t.Errorf("%s: %s's Label %q, its Service's %q", step, ci.ID, ci.Label, ci.Service.Label())
			}
		}
		if len(got) != len(ids) {
			t.Errorf("%s: children %v, want %v", step, got, ids)
			return
		}
		for i := range ids {
			if got[i] != ids[i] {
				t.Errorf("%s: children %v, want %v", step, got, ids)
			}
		}
	}
	check("started", "a", "r", "t", "gone")
	old := s.Child("r")
	old.Crash(errBoom)
	ev.wait(t, supervisor.ChildRestarted, "r", 1)
	if s.Child("r") == old {
		t.Fatal("no fresh instance")
	}
	check("replaced", "a", "r", "t", "gone")
	must(t, s.Terminate(ctx, "t"))
	check("terminated", "a", "r", "t", "gone")
	if ci := s.Children()[2]; !ci.Terminated || ci.Service.State() != service.Shutdown {
		t.Errorf("terminated: %+v", ci)
	}
	must(t, s.Remove(ctx, s.Child("gone")))
	check("removed", "a", "r", "t")
	must(t, s.Stop(ctx))
	for _, ci := range s.Children() {
		if ci.Service == nil || ci.Service != s.Child(ci.ID) {
			t.Errorf("stopped: %s's Service %p, Child %p", ci.ID, ci.Service, s.Child(ci.ID))
		}
	}
}
