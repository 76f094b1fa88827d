package supervisor_test

// Review 31: Supervisor.ShortLabel and Label before the handover
// (db1d9e2).

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// review31Sup is a user's type embedding a Supervisor by pointer.
type review31Sup struct{ *supervisor.Supervisor }

// TestReview31Labels: labels before and after the handover, for New's
// value and a user's type embedding it, named or not.
func TestReview31Labels(t *testing.T) {
	cases := []struct {
		name                     string
		cfgName                  string
		wrap                     bool
		shortBefore, labelBefore string
		shortAfter, labelAfter   string
	}{
		{"New", "", false, "Supervisor", "Supervisor", "Supervisor", "Supervisor"},
		{"New named", "x", false, "x", "Supervisor(x)", "x", "Supervisor(x)"},
		{"New named Supervisor", "Supervisor", false, "Supervisor", "Supervisor", "Supervisor", "Supervisor"},
		{"embedded", "", true, "Supervisor", "Supervisor", "review31Sup", "review31Sup"},
		{"embedded named", "y", true, "y", "Supervisor(y)", "y", "review31Sup(y)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			nop := zerolog.Nop()
			sup := supervisor.New(supervisor.Spec{Service: service.Config{Name: c.cfgName, Logger: &nop}})
			var svc service.Service = sup
			if c.wrap {
				svc = &review31Sup{sup}
			}
			if got := svc.ShortLabel(); got != c.shortBefore {
				t.Errorf("ShortLabel before = %q, want %q", got, c.shortBefore)
			}
			if got := svc.Label(); got != c.labelBefore {
				t.Errorf("Label before = %q, want %q", got, c.labelBefore)
			}
			if err := service.Start(context.Background(), svc); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = svc.Stop(context.Background()) }()
			if got := svc.ShortLabel(); got != c.shortAfter {
				t.Errorf("ShortLabel after = %q, want %q", got, c.shortAfter)
			}
			if got := svc.Label(); got != c.labelAfter {
				t.Errorf("Label after = %q, want %q", got, c.labelAfter)
			}
		})
	}
}

// TestReview31BeforeHandover: what a supervisor not yet handed over says
// of itself elsewhere than ShortLabel and Label: its own errors (from
// Base's code) and its log lines.
func TestReview31BeforeHandover(t *testing.T) {
	t.Run("Restart error", func(t *testing.T) {
		t.Skip("defect: before the handover Base's own code names the supervisor by Base.Label/ShortLabel (\"Base\"): only calls through *Supervisor's methods say \"Supervisor\" (db1d9e2 covers its package's errors, not Base's, nor Log's service field). Fix: let supervisor.New give its Base a type name for before the handover (a seam setter, used by Base.names when self is b), mind Base's size class")
		sup := supervisor.New(supervisor.Spec{})
		err := sup.Restart(context.Background())
		if err == nil || strings.Contains(err.Error(), "Base") {
			t.Errorf("Restart before Start: %v, want it to name Supervisor", err)
		}
	})
	t.Run("log line", func(t *testing.T) {
		t.Skip("defect: before the handover Base's own code names the supervisor by Base.Label/ShortLabel (\"Base\"): only calls through *Supervisor's methods say \"Supervisor\" (db1d9e2 covers its package's errors, not Base's, nor Log's service field). Fix: let supervisor.New give its Base a type name for before the handover (a seam setter, used by Base.names when self is b), mind Base's size class")
		var buf bytes.Buffer
		l := zerolog.New(&buf)
		sup := supervisor.New(supervisor.Spec{Service: service.Config{Logger: &l}})
		sup.Log().Info().Msg("hello")
		if strings.Contains(buf.String(), `"service":"Base"`) {
			t.Errorf("log line before Start: %s, want service Supervisor", buf.String())
		}
	})
	t.Run("after handover to a parent", func(t *testing.T) {
		// An unnamed user's type added to a parent: its automatic ID is
		// made from the outer type's name, not "Supervisor".
		parent := supervisor.New(supervisor.Spec{})
		u := &review31Sup{supervisor.New(supervisor.Spec{})}
		_ = u.ShortLabel() // before the handover: "Supervisor", not cached
		if err := parent.Add(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, ci := range parent.Children() {
			ids = append(ids, ci.ID)
		}
		if len(ids) != 1 || !strings.HasPrefix(ids[0], "review31Sup") {
			t.Errorf("child IDs %v, want review31Sup...", ids)
		}
		if got := u.ShortLabel(); got != "review31Sup" {
			t.Errorf("ShortLabel once added: %q", got)
		}
	})
}
