package service

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// SlogLogger returns a zerolog logger whose lines reach h as slog records,
// for a program that logs with log/slog:
//
//	service.Config{Logger: service.SlogLogger(slog.Default().Handler())}
//	// or, for a whole tree:
//	ctx = service.WithLogger(ctx, service.SlogLogger(handler))
//
// Each line becomes one slog.Record: its message, its level (zerolog's
// trace, debug, info, warn, error, fatal, panic as slog's Debug-4, Debug,
// Info, Warn, Error, Error+4, Error+8), the time it was written, and every
// field, in order, as an attribute of its kind: a JSON number as an Int64
// (a Uint64 for an integer beyond int64, a Float64 when it is not an
// integer), a boolean as a Bool, a string as a String (so a duration reads
// "74ms", and the error field "error" is its text), null as nil, an object
// as a Group, an array as a []any.
//
// Levels: the logger's level is set, once, to the lowest level h enables
// at this call (h.Enabled with context.Background), so a line below it
// costs no encoding at all; each record is checked with h.Enabled again
// before it is handed over, so a level raised later (a slog.LevelVar) is
// honoured, one lowered later is not (call SlogLogger again). The records
// have no source position (PC 0), and a field named like zerolog's
// timestamp field that parses as RFC 3339 becomes the record's time.
func SlogLogger(h slog.Handler) *zerolog.Logger {
	w := &slogWriter{h: h}
	l := zerolog.New(w).Level(lowestEnabled(h))
	return &l
}

// zerologToSlog maps zerolog's levels to slog's.
var zerologToSlog = map[zerolog.Level]slog.Level{
	zerolog.TraceLevel: slog.LevelDebug - 4,
	zerolog.DebugLevel: slog.LevelDebug,
	zerolog.InfoLevel:  slog.LevelInfo,
	zerolog.WarnLevel:  slog.LevelWarn,
	zerolog.ErrorLevel: slog.LevelError,
	zerolog.FatalLevel: slog.LevelError + 4,
	zerolog.PanicLevel: slog.LevelError + 8,
	zerolog.NoLevel:    slog.LevelInfo,
}

// lowestEnabled is the lowest zerolog level whose lines h takes.
func lowestEnabled(h slog.Handler) zerolog.Level {
	ctx := context.Background()
	for _, l := range []zerolog.Level{zerolog.TraceLevel, zerolog.DebugLevel, zerolog.InfoLevel, zerolog.WarnLevel, zerolog.ErrorLevel, zerolog.FatalLevel, zerolog.PanicLevel} {
		if h.Enabled(ctx, zerologToSlog[l]) {
			return l
		}
	}
	return zerolog.Disabled
}

// slogWriter is a zerolog.LevelWriter that decodes each JSON line into an
// slog.Record and hands it to h.
type slogWriter struct{ h slog.Handler }

var _ zerolog.LevelWriter = (*slogWriter)(nil)

// Write takes a line without a known level (zerolog calls WriteLevel).
func (w *slogWriter) Write(p []byte) (int, error) { return w.WriteLevel(zerolog.NoLevel, p) }

// WriteLevel decodes the line p and hands it to the handler. A line that
// is not a JSON object reaches it as its message, unparsed.
func (w *slogWriter) WriteLevel(l zerolog.Level, p []byte) (int, error) {
	ctx := context.Background()
	lvl, ok := zerologToSlog[l]
	if !ok {
		lvl = slog.LevelInfo
	}
	if !w.h.Enabled(ctx, lvl) {
		return len(p), nil
	}
	rec, err := decodeRecord(p, lvl)
	if err != nil {
		rec = slog.NewRecord(time.Now(), lvl, strings.TrimSpace(string(p)), 0)
	}
	return len(p), w.h.Handle(ctx, rec)
}

// decodeRecord turns one zerolog JSON line into a record at lvl.
func decodeRecord(p []byte, lvl slog.Level) (slog.Record, error) {
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return slog.Record{}, err
	}
	var msg string
	at := time.Time{}
	var attrs []slog.Attr
	for dec.More() {
		key, err := readKey(dec)
		if err != nil {
			return slog.Record{}, err
		}
		v, err := readValue(dec)
		if err != nil {
			return slog.Record{}, err
		}
		switch key {
		case zerolog.LevelFieldName:
			continue // the level comes with the write
		case zerolog.MessageFieldName:
			if s, ok := v.(string); ok {
				msg = s
				continue
			}
		case zerolog.TimestampFieldName:
			if s, ok := v.(string); ok {
				if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
					at = t
					continue
				}
			}
		}
		attrs = append(attrs, attrOf(key, v))
	}
	if at.IsZero() {
		at = time.Now()
	}
	rec := slog.NewRecord(at, lvl, msg, 0)
	rec.AddAttrs(attrs...)
	return rec, nil
}

// group is a decoded JSON object, its fields in order.
type group []slog.Attr

// attrOf makes the attribute of a decoded value.
func attrOf(key string, v any) slog.Attr {
	switch v := v.(type) {
	case json.Number:
		return slog.Any(key, number(v))
	case string:
		return slog.String(key, v)
	case bool:
		return slog.Bool(key, v)
	case group:
		return slog.Attr{Key: key, Value: slog.GroupValue(v...)}
	case nil:
		return slog.Any(key, nil)
	}
	return slog.Any(key, v)
}

// readValue reads one JSON value: a scalar, a group (object) or a []any
// (array; its numbers as int64 or float64, its objects as map[string]any).
func readValue(dec *json.Decoder) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t {
	case json.Delim('{'):
		var g group
		for dec.More() {
			k, err := readKey(dec)
			if err != nil {
				return nil, err
			}
			v, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			g = append(g, attrOf(k, v))
		}
		return g, expectDelim(dec, '}')
	case json.Delim('['):
		var a []any
		for dec.More() {
			v, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, plain(v))
		}
		return a, expectDelim(dec, ']')
	}
	return t, nil
}

// plain turns a decoded value inside an array into a plain Go value.
func plain(v any) any {
	switch v := v.(type) {
	case json.Number:
		return number(v)
	case group:
		m := make(map[string]any, len(v))
		for _, a := range v {
			m[a.Key] = a.Value.Any()
		}
		return m
	}
	return v
}

// number is n as an int64, else (a larger integer) a uint64, else a
// float64.
func number(n json.Number) any {
	if i, err := n.Int64(); err == nil {
		return i
	}
	if u, err := strconv.ParseUint(string(n), 10, 64); err == nil {
		return u
	}
	f, _ := n.Float64()
	return f
}

func readKey(dec *json.Decoder) (string, error) {
	t, err := dec.Token()
	if err != nil {
		return "", err
	}
	k, ok := t.(string)
	if !ok {
		return "", io.ErrUnexpectedEOF
	}
	return k, nil
}

func expectDelim(dec *json.Decoder, d json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if t != d {
		return io.ErrUnexpectedEOF
	}
	return nil
}
