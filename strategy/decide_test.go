package strategy

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// planEqual compares plans, treating nil and empty lists alike.
func planEqual(a, b Plan) bool {
	return slices.Equal(a.Stop, b.Stop) && slices.Equal(a.Restart, b.Restart) &&
		slices.Equal(a.Remove, b.Remove) && a.Counts == b.Counts
}

// decideSiblings are the restart types of five children; Decide tests
// override the exited child's entry. Temporary bystanders sit at both ends.
var decideSiblings = []RestartType{Temporary, Transient, Permanent, Transient, Temporary}

// positions are the exited children tested: first, middle, last.
var positions = []struct {
	name string
	idx  int
}{{"first", 0}, {"middle", 2}, {"last", 4}}

// restartingPlans is the expected plan, per strategy and position, when the
// exited child is to be restarted (it does not depend on how it exited).
var restartingPlans = map[Strategy][3]Plan{
	OneForOne: {
		{Restart: []int{0}, Counts: true},
		{Restart: []int{2}, Counts: true},
		{Restart: []int{4}, Counts: true},
	},
	OneForAll: {
		{Stop: []int{4, 3, 2, 1}, Restart: []int{0, 1, 2, 3}, Remove: []int{4}, Counts: true},
		{Stop: []int{4, 3, 1, 0}, Restart: []int{1, 2, 3}, Remove: []int{0, 4}, Counts: true},
		{Stop: []int{3, 2, 1, 0}, Restart: []int{1, 2, 3, 4}, Remove: []int{0}, Counts: true},
	},
	RestForOne: {
		{Stop: []int{4, 3, 2, 1}, Restart: []int{0, 1, 2, 3}, Remove: []int{4}, Counts: true},
		{Stop: []int{4, 3}, Restart: []int{2, 3}, Remove: []int{4}, Counts: true},
		{Restart: []int{4}, Counts: true},
	},
}

// TestDecideExhaustive covers every strategy × restart type × exit kind ×
// position.
func TestDecideExhaustive(t *testing.T) {
	type row struct {
		s    Strategy
		typ  RestartType
		kind ExitKind
		pos  int // index into positions
		want Plan
	}
	var rows []row
	for _, s := range []Strategy{OneForOne, OneForAll, RestForOne} {
		for _, typ := range []RestartType{Permanent, Transient, Temporary} {
			for _, kind := range []ExitKind{Normal, Crash} {
				for p, pos := range positions {
					var want Plan
					switch {
					case typ == Permanent, typ == Transient && kind == Crash:
						want = restartingPlans[s][p]
					case typ == Temporary:
						// Ends for good; spec dropped; strategy not fired.
						want = Plan{Remove: []int{pos.idx}}
					default:
						// Transient normal exit: ends for good, spec kept.
						want = Plan{}
					}
					rows = append(rows, row{s, typ, kind, p, want})
				}
			}
		}
	}
	if len(rows) != 54 {
		t.Fatalf("%d rows, want 54", len(rows))
	}
	for _, tt := range rows {
		pos := positions[tt.pos]
		name := fmt.Sprintf("%v/%v/%v/%s", tt.s, tt.typ, tt.kind, pos.name)
		t.Run(name, func(t *testing.T) {
			types := slices.Clone(decideSiblings)
			types[pos.idx] = tt.typ
			got, err := Decide(tt.s, types, pos.idx, tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			if !planEqual(got, tt.want) {
				t.Fatalf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecideSmallGroups(t *testing.T) {
	P, R, T := Permanent, Transient, Temporary
	tests := []struct {
		name   string
		s      Strategy
		types  []RestartType
		exited int
		kind   ExitKind
		want   Plan
	}{
		{"only child one_for_all", OneForAll, []RestartType{P}, 0, Crash, Plan{Restart: []int{0}, Counts: true}},
		{"only child rest_for_one", RestForOne, []RestartType{R}, 0, Crash, Plan{Restart: []int{0}, Counts: true}},
		{"only temporary", OneForAll, []RestartType{T}, 0, Crash, Plan{Remove: []int{0}}},
		{"all temporary bystanders", OneForAll, []RestartType{T, P, T}, 1, Normal,
			Plan{Stop: []int{2, 0}, Restart: []int{1}, Remove: []int{0, 2}, Counts: true}},
		{"transient bystanders restarted", OneForAll, []RestartType{R, P, R}, 1, Crash,
			Plan{Stop: []int{2, 0}, Restart: []int{0, 1, 2}, Counts: true}},
		{"rest_for_one leaves earlier temporary", RestForOne, []RestartType{T, P, T}, 1, Crash,
			Plan{Stop: []int{2}, Restart: []int{1}, Remove: []int{2}, Counts: true}},
		{"temporary exit under one_for_all untouched siblings", OneForAll, []RestartType{P, T, P}, 1, Crash,
			Plan{Remove: []int{1}}},
		{"transient normal under rest_for_one untouched siblings", RestForOne, []RestartType{P, R, P}, 1, Normal, Plan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decide(tt.s, tt.types, tt.exited, tt.kind)
			if err != nil {
				t.Fatal(err)
			}
			if !planEqual(got, tt.want) {
				t.Fatalf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestDecideInvariants checks every strategy, kind and exited child of
// every assignment of restart types to up to four children.
func TestDecideInvariants(t *testing.T) {
	all := []RestartType{Permanent, Transient, Temporary}
	for n := 1; n <= 4; n++ {
		types := make([]RestartType, n)
		var walk func(i int)
		walk = func(i int) {
			if i < n {
				for _, typ := range all {
					types[i] = typ
					walk(i + 1)
				}
				return
			}
			for _, s := range []Strategy{OneForOne, OneForAll, RestForOne} {
				for _, kind := range []ExitKind{Normal, Crash} {
					for exited := range n {
						checkInvariants(t, s, types, exited, kind)
					}
				}
			}
		}
		walk(0)
	}
}

func checkInvariants(t *testing.T, s Strategy, types []RestartType, exited int, kind ExitKind) {
	t.Helper()
	p, err := Decide(s, types, exited, kind)
	where := fmt.Sprintf("%v %v exited=%d %v", s, types, exited, kind)
	switch {
	case err != nil:
		t.Fatalf("%s: %v", where, err)
	case p.Counts != (len(p.Restart) > 0):
		t.Fatalf("%s: Counts %v with Restart %v", where, p.Counts, p.Restart)
	case slices.Contains(p.Stop, exited):
		t.Fatalf("%s: Stop %v holds the exited child", where, p.Stop)
	case !slices.IsSortedFunc(p.Stop, func(a, b int) int { return b - a }):
		t.Fatalf("%s: Stop %v not in reverse order", where, p.Stop)
	case !slices.IsSorted(p.Restart) || !slices.IsSorted(p.Remove):
		t.Fatalf("%s: Restart %v / Remove %v not ascending", where, p.Restart, p.Remove)
	case !ShouldRestart(types[exited], kind) && (len(p.Stop) > 0 || len(p.Restart) > 0):
		t.Fatalf("%s: strategy fired for an exit that ends for good: %+v", where, p)
	}
	for _, c := range p.Restart {
		if c != exited && types[c] == Temporary {
			t.Fatalf("%s: Temporary bystander %d restarted", where, c)
		}
		if slices.Contains(p.Remove, c) {
			t.Fatalf("%s: child %d both restarted and removed", where, c)
		}
	}
	for _, c := range p.Remove {
		if types[c] != Temporary {
			t.Fatalf("%s: non-Temporary %d removed", where, c)
		}
		if c != exited && !slices.Contains(p.Stop, c) {
			t.Fatalf("%s: bystander %d removed without being stopped", where, c)
		}
	}
	// Every stopped child is restarted or removed: nothing half-done.
	for _, c := range p.Stop {
		if !slices.Contains(p.Restart, c) && !slices.Contains(p.Remove, c) {
			t.Fatalf("%s: child %d stopped but neither restarted nor removed", where, c)
		}
	}
}

func TestDecideErrors(t *testing.T) {
	P := Permanent
	tests := []struct {
		name   string
		s      Strategy
		types  []RestartType
		exited int
		kind   ExitKind
		want   error
	}{
		{"unknown strategy", Strategy(3), []RestartType{P}, 0, Crash, ErrUnknownStrategy},
		{"negative strategy", Strategy(-1), []RestartType{P}, 0, Crash, ErrUnknownStrategy},
		{"unknown restart type", OneForOne, []RestartType{P, RestartType(4)}, 0, Crash, ErrUnknownRestartType},
		{"exited negative", OneForOne, []RestartType{P}, -1, Crash, ErrBadInput},
		{"exited past end", OneForAll, []RestartType{P, P}, 2, Crash, ErrBadInput},
		{"no children", RestForOne, nil, 0, Crash, ErrBadInput},
		{"unknown kind", OneForOne, []RestartType{P}, 0, ExitKind(9), ErrBadInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decide(tt.s, tt.types, tt.exited, tt.kind)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !planEqual(p, Plan{}) {
				t.Fatalf("plan %+v with error", p)
			}
		})
	}
}
