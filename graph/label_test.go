package graph_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gomode/mode/graph"
)

// fieldMark fills the fields of the big test values: it must never show in an
// error text or a default render.
const fieldMark = "FIELD-CONTENT"

// maxErrLen bounds an error text of the failing ops below: at most four
// labels of at most 64 bytes (plus "…"), a sentinel and some glue.
const maxErrLen = 400

// bigService is a service-like value: many fields, a ShortLabel.
type bigService struct {
	label                                              string
	Alpha, Bravo, Charlie, Delta, Echo, Foxtrot, Golf  string
	Hotel, India, Juliet, Kilo, Lima, Mike, November   string
	Oscar, Papa, Quebec, Romeo, Sierra, Tango, Uniform string
	Table                                              [64]string
	Meta                                               map[string]string
	Counters                                           [128]int64
}

func (b *bigService) ShortLabel() string { return b.label }

// bigPlain has the same fields and no method at all.
type bigPlain struct {
	Alpha, Bravo, Charlie, Delta, Echo, Foxtrot, Golf  string
	Hotel, India, Juliet, Kilo, Lima, Mike, November   string
	Oscar, Papa, Quebec, Romeo, Sierra, Tango, Uniform string
	Table                                              [64]string
	Meta                                               map[string]string
}

func newBigService(label string) *bigService {
	b := &bigService{label: label, Meta: map[string]string{"k": fieldMark}}
	b.Alpha, b.Bravo, b.Uniform = fieldMark, fieldMark, fieldMark
	for i := range b.Table {
		b.Table[i] = fieldMark
	}
	return b
}

func newBigPlain() *bigPlain {
	b := &bigPlain{Meta: map[string]string{"k": fieldMark}}
	b.Alpha, b.Bravo, b.Uniform = fieldMark, fieldMark, fieldMark
	for i := range b.Table {
		b.Table[i] = fieldMark
	}
	return b
}

// valued returns a node with value v.
func valued(v any) *graph.Node {
	n := new(graph.Node)
	n.SetValue(v)
	return n
}

func mustAdd(t *testing.T, parent, child *graph.Node) {
	t.Helper()
	if err := parent.Add(child); err != nil {
		t.Fatalf("setup: %v", err)
	}
}

// failingOps each build a small tree with mk (which makes the node named
// name) and run one operation that fails with want. mention lists the nodes
// the error text must name.
var failingOps = []struct {
	name    string
	want    error
	mention []string
	run     func(t *testing.T, mk func(name string) *graph.Node) error
}{
	{"add twice", graph.ErrAlreadyChild, []string{"kid", "top"}, func(t *testing.T, mk func(string) *graph.Node) error {
		p, c := mk("top"), mk("kid")
		mustAdd(t, p, c)
		return p.Add(c)
	}},
	{"add under itself", graph.ErrCycle, []string{"top"}, func(_ *testing.T, mk func(string) *graph.Node) error {
		p := mk("top")
		return p.Add(p)
	}},
	{"add ancestor", graph.ErrCycle, []string{"top", "kid"}, func(t *testing.T, mk func(string) *graph.Node) error {
		p, c := mk("top"), mk("kid")
		mustAdd(t, p, c)
		return c.Add(p)
	}},
	{"add with other parent", graph.ErrHasParent, []string{"kid", "other", "top"}, func(t *testing.T, mk func(string) *graph.Node) error {
		p, c, o := mk("top"), mk("kid"), mk("other")
		mustAdd(t, p, c)
		return o.Add(c)
	}},
	{"add nil", graph.ErrNilNode, []string{"top"}, func(_ *testing.T, mk func(string) *graph.Node) error {
		return mk("top").Add(nil)
	}},
	{"reattach under descendant", graph.ErrCycle, []string{"top", "kid"}, func(t *testing.T, mk func(string) *graph.Node) error {
		p, c := mk("top"), mk("kid")
		mustAdd(t, p, c)
		return p.Reattach(c)
	}},
	{"remove non-child", graph.ErrNotChild, []string{"kid", "top"}, func(_ *testing.T, mk func(string) *graph.Node) error {
		return mk("top").Remove(mk("kid"))
	}},
	{"replace non-child", graph.ErrNotChild, []string{"kid", "top"}, func(_ *testing.T, mk func(string) *graph.Node) error {
		return mk("top").Replace(mk("kid"), mk("fresh"))
	}},
	{"replace with attached", graph.ErrHasParent, []string{"fresh", "top", "other"}, func(t *testing.T, mk func(string) *graph.Node) error {
		p, c, o, f := mk("top"), mk("kid"), mk("other"), mk("fresh")
		mustAdd(t, p, c)
		mustAdd(t, o, f)
		return p.Replace(c, f)
	}},
	{"topo cycle", graph.ErrCycle, []string{"top", "kid"}, func(_ *testing.T, mk func(string) *graph.Node) error {
		a, b := mk("top"), mk("kid")
		_, err := graph.TopoOrder([]*graph.Node{a}, func(n *graph.Node) []*graph.Node {
			if n == a {
				return []*graph.Node{b}
			}
			return []*graph.Node{a}
		})
		return err
	}},
	{"topo nil dependency", graph.ErrNilNode, []string{"top"}, func(_ *testing.T, mk func(string) *graph.Node) error {
		_, err := graph.TopoOrder([]*graph.Node{mk("top")}, func(*graph.Node) []*graph.Node { return []*graph.Node{nil} })
		return err
	}},
}

// TestErrorLabels: error texts name nodes by their labels (ShortLabel, a
// string value, else the type name), stay short, and never show a value's
// fields.
func TestErrorLabels(t *testing.T) {
	type anon = struct {
		Alpha, Bravo, Charlie, Delta, Echo, Foxtrot, Golf, Hotel string
		Table                                                    [64]string
	}
	values := []struct {
		name  string
		mk    func(name string) *graph.Node
		label func(name string) string // the label expected for node name
	}{
		{"ShortLabel of a big struct", func(s string) *graph.Node { return valued(newBigService(s)) },
			func(s string) string { return s }},
		{"string value", func(s string) *graph.Node { return valued(s) },
			func(s string) string { return s }},
		{"big struct without ShortLabel", func(string) *graph.Node { return valued(newBigPlain()) },
			func(string) string { return "*graph_test.bigPlain" }},
		{"big struct by value", func(string) *graph.Node { return valued(*newBigPlain()) },
			func(string) string { return "graph_test.bigPlain" }},
		{"unnamed struct type, cut", func(string) *graph.Node {
			v := &anon{Alpha: fieldMark}
			v.Table[0] = fieldMark
			return valued(v)
		}, func(string) string { return "*struct { Alpha string; Bravo string;" }},
		{"typed nil with ShortLabel", func(string) *graph.Node { return valued((*bigService)(nil)) },
			func(string) string { return "*graph_test.bigService" }},
		{"no value", func(string) *graph.Node { return new(graph.Node) },
			func(string) string { return "node@0x" }},
	}
	for _, v := range values {
		for _, op := range failingOps {
			t.Run(v.name+"/"+op.name, func(t *testing.T) {
				err := op.run(t, v.mk)
				if !errors.Is(err, op.want) {
					t.Fatalf("err = %v, want %v", err, op.want)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, op.want.Error()+": ") {
					t.Errorf("error %q does not start with %q", msg, op.want.Error())
				}
				if len(msg) > maxErrLen {
					t.Errorf("error text is %d bytes: %q", len(msg), msg)
				}
				if strings.Contains(msg, fieldMark) || (strings.Contains(msg, "{") && !strings.Contains(v.label(""), "{")) {
					t.Errorf("error text shows the value's fields: %q", msg)
				}
				for _, m := range op.mention {
					if want := v.label(m); !strings.Contains(msg, want) {
						t.Errorf("error %q does not name %s as %q", msg, m, want)
					}
				}
			})
		}
	}
}

// TestRenderDefaultLabels: without describe the renderers use the same
// labels as error texts, never the value's fields.
func TestRenderDefaultLabels(t *testing.T) {
	root := valued(newBigService("app"))
	mustAdd(t, root, valued(newBigPlain()))
	mustAdd(t, root, valued("web"))
	mustAdd(t, root, new(graph.Node))
	want := "app\n├── *graph_test.bigPlain\n├── web\n└── <nil>\n"
	if got := graph.Text(root, nil); got != want {
		t.Fatalf("Text:\n%s\nwant:\n%s", got, want)
	}
	j, err := graph.JSON(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{
		"DOT": graph.DOT(root, nil), "Mermaid": graph.Mermaid(root, nil), "JSON": string(j),
	} {
		if strings.Contains(out, fieldMark) || !strings.Contains(out, "app") {
			t.Errorf("%s:\n%s", name, out)
		}
	}
}

// stringCalls counts calls of the hostile values' String methods.
var stringCalls atomic.Int32

// hostileStringer's String must never run: it counts and panics (fmt
// recovers from such a panic, so the count is what the test checks).
type hostileStringer struct {
	n   int
	buf [32]int
}

func (h *hostileStringer) String() string {
	stringCalls.Add(1)
	panic("graph formatted a node value with String")
}

func (h *hostileStringer) write(i int) { h.n++; h.buf[i%len(h.buf)] = i }

// racyFields has no methods: formatting it reads its fields, which the test
// writes from another goroutine without synchronization (-race reports it).
type racyFields struct {
	n   int
	buf [32]int
}

func (r *racyFields) write(i int) { r.n++; r.buf[i%len(r.buf)] = i }

// TestErrorsDoNotFormatValues: error texts and default renders never call
// String on a node value nor read its fields, while another goroutine writes
// those fields without synchronization. Run with -race.
func TestErrorsDoNotFormatValues(t *testing.T) {
	type writable interface{ write(int) }
	values := []struct {
		name  string
		value writable
		label string
	}{
		{"String panics", &hostileStringer{}, "*graph_test.hostileStringer"},
		{"fields written concurrently", &racyFields{}, "*graph_test.racyFields"},
	}
	for _, v := range values {
		t.Run(v.name, func(t *testing.T) {
			stringCalls.Store(0)
			var stop atomic.Bool
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // the service at work: writes its own fields
				defer wg.Done()
				for i := 0; !stop.Load(); i++ {
					v.value.write(i)
				}
			}()
			defer func() { stop.Store(true); wg.Wait() }()

			mk := func(string) *graph.Node { return valued(v.value) }
			for range 20 {
				for _, op := range failingOps {
					err := op.run(t, mk)
					if !errors.Is(err, op.want) {
						t.Fatalf("%s: err = %v, want %v", op.name, err, op.want)
					}
					if msg := fmt.Sprint(err); !strings.Contains(msg, v.label) {
						t.Fatalf("%s: error %q does not name %s", op.name, msg, v.label)
					}
				}
				root := mk("")
				mustAdd(t, root, mk(""))
				if got := graph.Text(root, nil); got != v.label+"\n└── "+v.label+"\n" {
					t.Fatalf("Text:\n%s", got)
				}
				_ = graph.DOT(root, nil)
				_ = graph.Mermaid(root, nil)
				if _, err := graph.JSON(root, nil); err != nil {
					t.Fatal(err)
				}
			}
			if n := stringCalls.Load(); n != 0 {
				t.Fatalf("String called %d times", n)
			}
		})
	}
}

// lockedLabel's ShortLabel takes the value's own lock and then mutates a
// graph, as a service's ShortLabel may take the service's mutex. Called with
// the graph mutex held it would deadlock on the mutation. The test holds the
// value's lock around the failing call, as a service adding a child does: a
// ShortLabel call then finds the lock taken and records it (TryLock, so the
// test fails instead of hanging).
type lockedLabel struct {
	mu       sync.Mutex
	name     string
	calls    atomic.Int32
	whenHeld atomic.Int32 // calls that found mu held
}

func (l *lockedLabel) ShortLabel() string {
	l.calls.Add(1)
	if !l.mu.TryLock() {
		l.whenHeld.Add(1)
		return l.name
	}
	defer l.mu.Unlock()
	var a, b graph.Node
	if err := a.Add(&b); err != nil {
		panic(err)
	}
	b.Detach()
	return l.name
}

// TestShortLabelOutsideLocks: ShortLabel runs neither under the graph mutex
// nor during the failing call itself (when the caller may hold the value's
// lock), only when the error text is asked for. A ShortLabel under the graph
// mutex deadlocks; the test has no timeout of its own.
func TestShortLabelOutsideLocks(t *testing.T) {
	for _, op := range failingOps {
		t.Run(op.name, func(t *testing.T) {
			var values []*lockedLabel
			mk := func(name string) *graph.Node {
				l := &lockedLabel{name: name}
				l.mu.Lock() // held by "the service" until the call returned
				values = append(values, l)
				return valued(l)
			}
			err := op.run(t, mk)
			var calls, whenHeld int32
			count := func() {
				calls, whenHeld = 0, 0
				for _, l := range values {
					calls += l.calls.Load()
					whenHeld += l.whenHeld.Load()
				}
			}
			count()
			for _, l := range values {
				l.mu.Unlock()
			}
			if !errors.Is(err, op.want) {
				t.Fatalf("err = %v, want %v", err, op.want)
			}
			if calls != 0 {
				t.Fatalf("ShortLabel called %d times during the failing call (%d with the value's lock held)", calls, whenHeld)
			}
			msg := err.Error()
			count()
			if calls == 0 || whenHeld != 0 {
				t.Fatalf("ShortLabel calls: %d, %d with the value's lock held, for %q", calls, whenHeld, msg)
			}
			for _, m := range op.mention {
				if !strings.Contains(msg, m) {
					t.Errorf("error %q does not name %s", msg, m)
				}
			}
		})
	}
	t.Run("render", func(t *testing.T) {
		app, db := &lockedLabel{name: "app"}, &lockedLabel{name: "db"}
		root := valued(app)
		mustAdd(t, root, valued(db))
		if got := graph.Text(root, nil); got != "app\n└── db\n" {
			t.Fatalf("Text:\n%s", got)
		}
		if app.calls.Load() != 1 || db.calls.Load() != 1 {
			t.Fatalf("ShortLabel calls: app %d, db %d", app.calls.Load(), db.calls.Load())
		}
	})
}
