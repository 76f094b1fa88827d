package observe

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"time"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// treeDoc is the JSON of /debug/tree.json:
//
//	{"at": "2026-12-01T18:00:00Z", "t": 1796148000000000, "services": 4, "controls": false,
//	 "token_required": false, "root": {node}, "events": [{event}, ...]}
//
// where a node is
//
//	{"key": "n1a2b", "parent": "", "path": "root/db", "id": "db",
//	 "label": "db", "name": "db", "type": "service.FuncService",
//	 "state": "running", "restarts": 2, "flags": ["in-onstart"],
//	 "tasks": ["fetch"], "timers": [{"name": "every 1s", "runs": 3, ...}],
//	 "crash": {"reason": "boom", "at": "...", "count": 2},
//	 "supervisor": {"strategy": "one_for_one", "restarts_used": 1,
//	   "max_restarts": 3, "window": "5s", "info": ["strategy ..."]},
//	 "terminated": false, "children": [{node}, ...]}
//
// key names the service for as long as it is in the tree (the page keys
// its rows and the event stream's updates by it); path joins the names
// (ShortLabels) from the root, as /readyz, the metrics and pprof's
// mode.service label do (siblings of one name share it); id is the child
// ID under its supervisor, which tells such siblings apart. Empty fields
// are left out.
type treeDoc struct {
	At            time.Time   `json:"at"`
	T             int64       `json:"t"` // At in microseconds since 1970, for the page
	Services      int         `json:"services"`
	Controls      bool        `json:"controls"`
	TokenRequired bool        `json:"token_required"`
	Root          *nodeJSON   `json:"root"`
	Events        []eventJSON `json:"events,omitempty"`
}

// nodeJSON is one service of treeDoc, and of an event stream's update
// (which leaves out path, id, label, name, type and children).
type nodeJSON struct {
	Key        string      `json:"key"`
	Parent     string      `json:"parent,omitempty"`
	Path       string      `json:"path,omitempty"`
	ID         string      `json:"id,omitempty"`
	Label      string      `json:"label,omitempty"`
	Name       string      `json:"name,omitempty"`
	Type       string      `json:"type,omitempty"`
	State      string      `json:"state"`
	Restarts   int         `json:"restarts"`
	Flags      []string    `json:"flags,omitempty"`
	Tasks      []string    `json:"tasks,omitempty"`
	Timers     []timerJSON `json:"timers,omitempty"`
	Crash      *crashJSON  `json:"crash,omitempty"`
	Supervisor *supJSON    `json:"supervisor,omitempty"`
	Terminated bool        `json:"terminated,omitempty"`
	Children   []*nodeJSON `json:"children,omitempty"`
}

// timerJSON is service.TimerStats.
type timerJSON struct {
	Name     string `json:"name"`
	Workers  int    `json:"workers"`
	Runs     int64  `json:"runs"`
	Failures int64  `json:"failures"`
	Skipped  int64  `json:"skipped"`
	Drifts   int64  `json:"drifts"`
	Overlaps int64  `json:"overlaps"`
}

// crashJSON is a service's last crash: its reason (the current run's, else
// its supervisor's record of the last one), when it was seen and how many
// crashes the handler has seen since it attached.
type crashJSON struct {
	Reason string     `json:"reason,omitempty"`
	At     *time.Time `json:"at,omitempty"`
	Count  int64      `json:"count"`
}

// supJSON is a supervisor's strategy and the intensity it has used, from
// its DumpInfo (whose lines are in info).
type supJSON struct {
	Strategy     string   `json:"strategy"`
	NeverRestart bool     `json:"never_restart,omitempty"`
	RestartsUsed *int     `json:"restarts_used,omitempty"`
	MaxRestarts  int      `json:"max_restarts,omitempty"`
	Window       string   `json:"window,omitempty"`
	Info         []string `json:"info,omitempty"`
}

// intensityLine parses DumpInfo's first line.
var intensityLine = regexp.MustCompile(`^strategy (\S+), (?:restarts (\d+) of (\d+) in (\S+)|never restarts)`)

// timersOf is what every service embedding service.Base has.
type timersOf interface {
	Timers() []service.TimerStats
}

// taskLister is a service that names its live tasks.
type taskLister interface {
	Tasks() []string
}

// snapper builds nodeJSONs, caching each supervisor's children for one
// snapshot.
type snapper struct {
	crashes map[*graph.Node]crashRec
	base    time.Time // the handler's attach time: what the crashes' moments count from
	kids    map[*supervisor.Supervisor]kids
	count   int
	byKey   map[string]service.Service // when not nil, tree fills it
}

func newSnapper(crashes map[*graph.Node]crashRec, base time.Time) *snapper {
	return &snapper{crashes: crashes, base: base, kids: map[*supervisor.Supervisor]kids{}}
}

// keyOf names n for the page: its address, as %p prints it (without
// fmt, which took a sixth of a look at the tree).
func keyOf(n *graph.Node) string {
	var b [18]byte
	return string(strconv.AppendUint(append(b[:0], "0x"...), uint64(reflect.ValueOf(n).Pointer()), 16))
}

// childInfo returns s's ChildInfo under its parent supervisor, if any.
func (sn *snapper) childInfo(s service.Service) (supervisor.ChildInfo, bool) {
	p := s.Node().Parent()
	if p == nil {
		return supervisor.ChildInfo{}, false
	}
	sup, ok := p.Value().(*supervisor.Supervisor)
	if !ok {
		return supervisor.ChildInfo{}, false
	}
	k, ok := sn.kids[sup]
	if !ok {
		k = childrenOf(sup)
		sn.kids[sup] = k
	}
	i, ok := k.index[s]
	if !ok {
		return supervisor.ChildInfo{}, false
	}
	return k.infos[i], true
}

// kids is a supervisor's children as one snapshot saw them.
type kids struct {
	infos []supervisor.ChildInfo
	index map[service.Service]int // into infos
}

// childrenOf reads sup's children.
func childrenOf(sup *supervisor.Supervisor) kids {
	k := kids{infos: sup.Children()}
	k.index = make(map[service.Service]int, len(k.infos))
	for i, ci := range k.infos {
		k.index[ci.Service] = i
	}
	return k
}

// node is the shallow snapshot of s (no path, names nor children).
func (sn *snapper) node(s service.Service) *nodeJSON {
	sn.count++
	n := &nodeJSON{
		Key:      keyOf(s.Node()),
		State:    s.State().String(),
		Restarts: s.RestartCount(),
		Flags:    s.Diag().Flags(),
	}
	if p := s.Node().Parent(); p != nil {
		n.Parent = keyOf(p)
	}
	if tl, ok := s.(taskLister); ok {
		n.Tasks = tl.Tasks()
	}
	if to, ok := s.(timersOf); ok {
		for _, t := range to.Timers() {
			n.Timers = append(n.Timers, timerJSON{t.Name, t.Workers, t.Runs, t.Failures, t.Skipped, t.Drifts, t.Overlaps})
		}
	}
	ci, supervised := sn.childInfo(s)
	n.Terminated = ci.Terminated
	reason := s.CrashReason()
	if reason == nil && supervised {
		reason = ci.LastReason
	}
	rec, seen := sn.crashes[s.Node()]
	if reason != nil || seen {
		c := &crashJSON{Count: rec.count}
		if reason != nil {
			c.Reason = reasonText(reason)
		}
		if seen {
			at := rec.at.time(sn.base)
			c.At = &at
		}
		n.Crash = c
	}
	if sup, ok := s.(*supervisor.Supervisor); ok {
		n.Supervisor = supervisorOf(sup)
	}
	return n
}

// supervisorOf reads sup's strategy and intensity.
func supervisorOf(sup *supervisor.Supervisor) *supJSON {
	info := sup.DumpInfo()
	j := &supJSON{Strategy: sup.Spec().Strategy.String(), Info: info}
	if len(info) == 0 {
		return j
	}
	m := intensityLine.FindStringSubmatch(info[0])
	if m == nil {
		return j
	}
	j.Strategy = m[1]
	if m[2] == "" {
		j.NeverRestart = true
		return j
	}
	used, _ := strconv.Atoi(m[2])
	j.RestartsUsed = &used
	j.MaxRestarts, _ = strconv.Atoi(m[3])
	j.Window = m[4]
	return j
}

// tree is the deep snapshot of the tree under s, whose path is path.
func (sn *snapper) tree(s service.Service, path string) *nodeJSON {
	n := sn.node(s)
	n.Label, n.Name = s.Label(), s.ShortLabel()
	n.Type = typeOf(s)
	seg := validUTF8(n.Name)
	if ci, ok := sn.childInfo(s); ok {
		n.ID = ci.ID
	}
	n.Path = seg
	if sn.byKey != nil {
		sn.byKey[n.Key] = s
	}
	if path != "" {
		n.Path = path + "/" + seg
	}
	for _, c := range s.Node().Children() {
		if cs, ok := c.Value().(service.Service); ok {
			n.Children = append(n.Children, sn.tree(cs, n.Path))
		}
	}
	return n
}

// parentPath is the path of s's parent, "" for a root: the paths of a
// Handler on a subtree start at the top of the whole tree, as pathOf's.
func parentPath(s service.Service) string {
	if p := s.Node().Parent(); p != nil {
		return pathOf(p)
	}
	return ""
}

// typeOf names s's Go type, package-qualified ("supervisor.Supervisor").
func typeOf(s service.Service) string {
	t := reflect.TypeOf(s)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.String()
}

// serveTreeJSON serves the tree with live state (treeDoc).
func (h *Handler) serveTreeJSON(w http.ResponseWriter, r *http.Request) {
	if !h.attach(w) {
		return
	}
	at := time.Now().UTC()
	sn := newSnapper(h.live.crashCopy(), h.live.clock.base)
	doc := treeDoc{
		At:            at,
		T:             at.UnixMicro(),
		Controls:      h.Controls,
		TokenRequired: h.Controls && h.Token != "",
		Root:          sn.tree(h.Root, parentPath(h.Root)),
		Events:        h.live.recentEvents(),
	}
	doc.Services = sn.count
	writeJSON(w, http.StatusOK, doc)
}

// writeJSON writes v as the response with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // a failed write is the client's: nothing to tell it
}

// liveLabel is the label of the dot and Mermaid renderings: the service's
// label, state, restart count and flags.
func liveLabel(n *graph.Node) string {
	s, ok := n.Value().(service.Service)
	if !ok {
		return "<nil>"
	}
	l := s.Label() + " [" + s.State().String() + "]"
	if c := s.RestartCount(); c > 0 {
		l += " restarts=" + strconv.Itoa(c)
	}
	if f := s.Diag().String(); f != "" {
		l += " flags=" + f
	}
	return l
}

// serveTreeDot serves the tree in Graphviz dot, with live state.
func (h *Handler) serveTreeDot(w http.ResponseWriter, r *http.Request) {
	h.serveRendering(w, "text/vnd.graphviz; charset=utf-8", graph.DOT)
}

// serveTreeMermaid serves the tree as a Mermaid flowchart, with live
// state.
func (h *Handler) serveTreeMermaid(w http.ResponseWriter, r *http.Request) {
	h.serveRendering(w, "text/plain; charset=utf-8", graph.Mermaid)
}

// serveRendering serves the tree drawn by render, each service labelled
// with its live state (liveLabel).
func (h *Handler) serveRendering(w http.ResponseWriter, contentType string, render func(*graph.Node, func(*graph.Node) string) string) {
	if !h.attach(w) {
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(render(h.Root.Node(), liveLabel)))
}
