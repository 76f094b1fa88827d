package service

import (
	"reflect"
	"sync"
	"unicode/utf8"
)

// typeInfo is what a value's Go type says about it as a service: the hooks
// it implements and its name for labels. A type never changes, so it is
// found once per type and shared by every value of it: building and
// naming many services of one type (a pool of workers) skips a dozen type
// assertions and reflect lookups each.
type typeInfo struct {
	hooks hookSet
	name  string
}

// typeInfos maps a reflect.Type to its *typeInfo. It holds one entry per
// type of service or observer the program uses.
var typeInfos sync.Map

// infoOf returns the typeInfo of v's type. v is not nil.
func infoOf(v any) *typeInfo {
	t := reflect.TypeOf(v)
	if ti, ok := typeInfos.Load(t); ok {
		return ti.(*typeInfo)
	}
	ti := &typeInfo{name: spelledName(t)}
	if s, ok := v.(Service); ok {
		ti.hooks = findHooks(s)
	}
	got, _ := typeInfos.LoadOrStore(t, ti)
	return got.(*typeInfo)
}

// spelledName is t's name, pointers taken away; an unnamed type (an
// anonymous struct embedding Base) is spelled as %T spells it, bounded, so
// that no label (nor a child's automatic ID) is empty.
func spelledName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name := t.Name(); name != "" {
		return name
	}
	s := t.String()
	if len(s) > maxUnnamedLabel {
		cut := maxUnnamedLabel
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// maxUnnamedLabel bounds the label made from an unnamed type, whose
// spelling lists every field.
const maxUnnamedLabel = 64
