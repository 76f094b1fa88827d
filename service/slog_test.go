package service_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// slogRecorder is a slog.Handler that keeps the records it is handed.
type slogRecorder struct {
	level slog.Leveler
	mu    sync.Mutex
	recs  []slog.Record
}

func (r *slogRecorder) Enabled(_ context.Context, l slog.Level) bool {
	return r.level == nil || l >= r.level.Level()
}

func (r *slogRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

func (r *slogRecorder) WithAttrs([]slog.Attr) slog.Handler { panic("not used by SlogLogger") }
func (r *slogRecorder) WithGroup(string) slog.Handler      { panic("not used by SlogLogger") }

func (r *slogRecorder) records() []slog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]slog.Record(nil), r.recs...)
}

func attrsOf(rec slog.Record) map[string]slog.Value {
	m := map[string]slog.Value{}
	rec.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value; return true })
	return m
}

func TestSlogLoggerFieldKinds(t *testing.T) {
	tests := []struct {
		name  string
		add   func(e *zerolog.Event) *zerolog.Event
		key   string
		kind  slog.Kind
		value any
	}{
		{"string", func(e *zerolog.Event) *zerolog.Event { return e.Str("service", "api") }, "service", slog.KindString, "api"},
		{"int", func(e *zerolog.Event) *zerolog.Event { return e.Int("restarts", 3) }, "restarts", slog.KindInt64, int64(3)},
		{"negative int", func(e *zerolog.Event) *zerolog.Event { return e.Int64("n", -7) }, "n", slog.KindInt64, int64(-7)},
		{"float", func(e *zerolog.Event) *zerolog.Event { return e.Float64("ratio", 0.25) }, "ratio", slog.KindFloat64, 0.25},
		{"bool", func(e *zerolog.Event) *zerolog.Event { return e.Bool("ok", true) }, "ok", slog.KindBool, true},
		{"error", func(e *zerolog.Event) *zerolog.Event { return e.Err(errors.New("boom")) }, "error", slog.KindString, "boom"},
		{"duration as text", func(e *zerolog.Event) *zerolog.Event { return e.Str("delay", (74 * time.Millisecond).String()) }, "delay", slog.KindString, "74ms"},
		{"array", func(e *zerolog.Event) *zerolog.Event { return e.Strs("stack", []string{"a", "b"}) }, "stack", slog.KindAny, []any{"a", "b"}},
		{"null", func(e *zerolog.Event) *zerolog.Event { return e.Interface("v", nil) }, "v", slog.KindAny, nil},
		{"uint64 beyond int64", func(e *zerolog.Event) *zerolog.Event { return e.Uint64("n", math.MaxUint64) }, "n", slog.KindUint64, uint64(math.MaxUint64)},
		{"uint64 beyond int64 in an array", func(e *zerolog.Event) *zerolog.Event { return e.Uints64("ns", []uint64{1, math.MaxUint64}) }, "ns", slog.KindAny, []any{int64(1), uint64(math.MaxUint64)}},
		{"quoted text", func(e *zerolog.Event) *zerolog.Event { return e.Str("q", "a \"b\"\nc") }, "q", slog.KindString, "a \"b\"\nc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &slogRecorder{}
			l := service.SlogLogger(rec)
			tt.add(l.Warn()).Msg("hello")
			recs := rec.records()
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1", len(recs))
			}
			r := recs[0]
			if r.Message != "hello" || r.Level != slog.LevelWarn || r.Time.IsZero() {
				t.Errorf("record: message %q level %v time %v", r.Message, r.Level, r.Time)
			}
			v, ok := attrsOf(r)[tt.key]
			if !ok {
				t.Fatalf("no attribute %q in %v", tt.key, attrsOf(r))
			}
			if v.Kind() != tt.kind {
				t.Errorf("%s: kind %v, want %v", tt.key, v.Kind(), tt.kind)
			}
			if got := v.Any(); !equalAny(got, tt.value) {
				t.Errorf("%s = %#v, want %#v", tt.key, got, tt.value)
			}
		})
	}
}

func equalAny(a, b any) bool {
	as, ok1 := a.([]any)
	bs, ok2 := b.([]any)
	if ok1 && ok2 {
		if len(as) != len(bs) {
			return false
		}
		for i := range as {
			if as[i] != bs[i] {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestSlogLoggerOrderGroupsAndLevels(t *testing.T) {
	rec := &slogRecorder{}
	l := service.SlogLogger(rec)
	l.Info().Str("z", "1").Int("a", 2).Dict("d", zerolog.Dict().Int("x", 1).Str("y", "v")).Msg("first")
	l.Trace().Msg("trace")
	l.Error().Msg("error")
	l.WithLevel(zerolog.PanicLevel).Msg("panic")
	recs := rec.records()
	if len(recs) != 4 {
		t.Fatalf("got %d records, want 4", len(recs))
	}
	var keys []string
	recs[0].Attrs(func(a slog.Attr) bool { keys = append(keys, a.Key); return true })
	if want := []string{"z", "a", "d"}; len(keys) != 3 || keys[0] != want[0] || keys[1] != want[1] || keys[2] != want[2] {
		t.Errorf("keys %v, want %v", keys, want)
	}
	d := attrsOf(recs[0])["d"]
	if d.Kind() != slog.KindGroup || len(d.Group()) != 2 || d.Group()[0].Value.Int64() != 1 {
		t.Errorf("d = %v, want a group x=1 y=v", d)
	}
	for i, want := range []slog.Level{slog.LevelInfo, slog.LevelDebug - 4, slog.LevelError, slog.LevelError + 8} {
		if recs[i].Level != want {
			t.Errorf("record %d (%s): level %v, want %v", i, recs[i].Message, recs[i].Level, want)
		}
	}
}

func TestSlogLoggerRespectsEnabled(t *testing.T) {
	var lv slog.LevelVar
	lv.Set(slog.LevelWarn)
	rec := &slogRecorder{level: &lv}
	l := service.SlogLogger(rec)
	if l.GetLevel() != zerolog.WarnLevel {
		t.Errorf("logger level %v, want warn (the handler's lowest)", l.GetLevel())
	}
	if l.Info().Enabled() {
		t.Error("an Info event is enabled: it would be encoded for nothing")
	}
	l.Info().Msg("dropped")
	lv.Set(slog.LevelError) // raised later: honoured
	l.Warn().Msg("dropped too")
	l.Error().Msg("kept")
	recs := rec.records()
	if len(recs) != 1 || recs[0].Message != "kept" {
		t.Fatalf("records %v, want only \"kept\"", recs)
	}
	off := service.SlogLogger(&slogRecorder{level: slog.Level(100)})
	if off.GetLevel() != zerolog.Disabled {
		t.Errorf("a handler that takes nothing: level %v, want disabled", off.GetLevel())
	}
}

func TestSlogLoggerServiceLines(t *testing.T) {
	rec := &slogRecorder{}
	s := &plainSvc{}
	s.Configure(service.Config{Name: "api", Logger: service.SlogLogger(rec), LogLevel: zerolog.InfoLevel})
	if err := service.Start(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, r := range rec.records() {
		msgs = append(msgs, r.Message)
		if v := attrsOf(r)["service"]; v.String() != "api" {
			t.Errorf("%q: service=%v, want api", r.Message, v)
		}
	}
	if len(msgs) != 4 || msgs[0] != "Starting" || msgs[3] != "Stopped" {
		t.Errorf("messages %v, want Starting, Started, Stopping, Stopped", msgs)
	}
}

type plainSvc struct{ service.Base }

func ExampleSlogLogger() {
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{} // no time: the output is the same every run
			}
			return a
		},
	})
	s := &plainSvc{}
	s.Configure(service.Config{Name: "api", LogLevel: zerolog.InfoLevel})
	ctx := service.WithLogger(context.Background(), service.SlogLogger(h))
	if err := service.Start(ctx, s); err != nil {
		panic(err)
	}
	s.Log().Info().Int("restarts", 2).Str("delay", "74ms").Msg("hello")
	_ = s.Stop(ctx)
	// Output:
	// level=INFO msg=Starting service=api
	// level=INFO msg=Started service=api
	// level=INFO msg=hello service=api restarts=2 delay=74ms
	// level=INFO msg=Stopping service=api
	// level=INFO msg=Stopped service=api
}
