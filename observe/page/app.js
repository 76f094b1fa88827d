// The live page of a mode tree: draws debug/tree.json, then applies the
// updates pushed on the events stream. Data is only ever set as text.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  // A script error is shown, and counted on the body for tests.
  const failed = (what) => {
    document.body.dataset.errors = String(Number(document.body.dataset.errors || 0) + 1);
    $('status').textContent = 'page error: ' + what;
  };
  window.addEventListener('error', (ev) => failed(ev.message));
  window.addEventListener('unhandledrejection', (ev) => failed(String(ev.reason)));
  const rows = new Map(); // key -> {li, row, parts, data}
  const collapsed = new Set(); // paths of collapsed subtrees, kept across reloads
  let seen = new Set(), seenNow = new Set(); // paths drawn before, and now
  const bigList = 100; // more children than this start collapsed
  let doc = null; // the last tree.json
  let loading = false, again = false, queued = [];
  let filterTimer = 0;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function when(t) {
    if (!t) return '';
    const d = new Date(t);
    return isNaN(d) ? '' : d.toLocaleTimeString();
  }

  // fill sets the parts of a row that change from a node's snapshot.
  function fill(e, n) {
    const li = e.li, p = e.parts;
    e.data = Object.assign(e.data || {}, n);
    li.dataset.state = n.state;
    li.dataset.restarts = String(n.restarts);
    li.dataset.terminated = n.terminated ? 'true' : 'false';
    p.state.textContent = n.state;
    p.restarts.textContent = n.restarts ? 'restarts ' + n.restarts : '';
    p.flags.textContent = (n.flags || []).join(' ');
    const c = n.crash;
    p.crash.textContent = c && (c.reason || c.count)
      ? 'crash' + (c.count > 1 ? ' ×' + c.count : '') + (c.at ? ' at ' + when(c.at) : '') + (c.reason ? ': ' + c.reason : '')
      : '';
    const s = n.supervisor;
    if (s) {
      let t = s.strategy;
      if (s.never_restart) t += ', never restarts';
      else if (s.restarts_used !== undefined) t += ', restarts ' + s.restarts_used + ' of ' + s.max_restarts + ' in ' + s.window;
      const extra = (s.info || []).slice(1);
      p.sup.textContent = t + (extra.length ? ' · ' + extra.join(' · ') : '');
    }
    p.tasks.textContent = n.tasks && n.tasks.length ? 'tasks: ' + n.tasks.join(', ') : '';
    p.timers.textContent = (n.timers || []).map((t) =>
      'timer ' + t.name + ': runs ' + t.runs + ', skips ' + t.skipped + ', overlaps ' + t.overlaps +
      (t.failures ? ', failures ' + t.failures : '')).join(' · ');
    li.dataset.text = [e.data.label, e.data.path, n.state, (n.flags || []).join(' '), c && c.reason || ''].join(' ').toLowerCase();
  }

  // build makes the list item of n and of its subtree.
  function build(n, parentIsSup) {
    const li = el('li', 'node');
    li.dataset.key = n.key;
    li.dataset.path = n.path;
    li.dataset.name = n.name;
    const row = el('div', 'row');
    const kids = n.children || [];
    const toggle = el('button', 'toggle' + (kids.length ? '' : ' leaf'), kids.length ? '▾' : '');
    toggle.type = 'button';
    toggle.title = 'collapse or expand';
    const parts = {
      state: el('span', 'state'), restarts: el('span', 'restarts'), flags: el('span', 'flags'),
      crash: el('span', 'crash'), sup: el('span', 'sup'), tasks: el('span', 'tasks'), timers: el('span', 'timers'),
    };
    parts.below = el('span', 'below');
    row.append(toggle, el('span', 'label', n.label), parts.state, parts.restarts, parts.flags,
      parts.sup, parts.tasks, parts.timers, parts.crash, parts.below, el('span', 'path', n.path));
    if (doc.controls && parentIsSup && n.id) {
      for (const action of ['restart', 'terminate']) {
        const b = el('button', 'ctl', action);
        b.type = 'button';
        b.dataset.action = action;
        row.append(b);
      }
    }
    li.append(row);
    seenNow.add(n.path);
    const e = { li, row, parts, toggle, data: { label: n.label, path: n.path } };
    rows.set(n.key, e);
    fill(e, n);
    if (kids.length) {
      const ul = el('ul');
      for (const k of kids) ul.append(build(k, !!n.supervisor));
      li.append(ul);
      // The first time, a long list of children starts collapsed.
      if (!seen.has(n.path) && kids.length > bigList) collapsed.add(n.path);
      if (collapsed.has(n.path)) setCollapsed(e, true);
    }
    return li;
  }

  function setCollapsed(e, on) {
    e.li.classList.toggle('collapsed', on);
    e.toggle.textContent = on ? '▸' : '▾';
    if (on) collapsed.add(e.data.path); else collapsed.delete(e.data.path);
    summarize(e);
  }

  // stateCounts tells how many services are in each state: "3 running".
  function stateCounts(lis) {
    const by = {};
    let n = 0;
    for (const li of lis) { by[li.dataset.state] = (by[li.dataset.state] || 0) + 1; n++; }
    return [n, Object.keys(by).sort().map((s) => by[s] + ' ' + s).join(' · ')];
  }

  // summarize shows, on a collapsed row, the states of the services below.
  function summarize(e) {
    const ul = e.li.querySelector(':scope > ul');
    if (!ul || !e.li.classList.contains('collapsed')) { e.parts.below.textContent = ''; return; }
    const [n, by] = stateCounts(ul.querySelectorAll('li.node'));
    e.parts.below.textContent = n + ' below: ' + by;
    e.li.dataset.belowCrashed = ul.querySelector('li.node[data-state="crashed"]') ? 'true' : 'false';
  }

  function counts() {
    const [n, by] = stateCounts([...rows.values()].map((e) => e.li));
    $('counts').textContent = n + ' services · ' + by;
    for (const e of rows.values()) if (e.li.classList.contains('collapsed')) summarize(e);
  }

  // reload fetches the whole tree and draws it again.
  async function reload() {
    if (loading) { again = true; return; }
    loading = true;
    try {
      const r = await fetch('debug/tree.json', { cache: 'no-store' });
      if (!r.ok) throw new Error('tree.json: ' + r.status);
      doc = await r.json();
      rows.clear();
      seenNow = new Set();
      const tree = $('tree');
      tree.replaceChildren(build(doc.root, false));
      seen = seenNow;
      $('root-name').textContent = doc.root.label;
      $('token-box').hidden = !doc.token_required;
      const evs = $('events');
      evs.replaceChildren();
      for (const ev of doc.events || []) addEvent(ev);
      const later = queued.filter((u) => u.t >= doc.t);
      queued = [];
      for (const u of later) apply(u);
      applyFilter();
      counts();
      tree.dataset.loaded = String(Number(tree.dataset.loaded) + 1);
    } catch (err) {
      $('status').textContent = String(err);
    } finally {
      loading = false;
      if (again) { again = false; reload(); }
    }
  }

  function addEvent(ev) {
    const evs = $('events');
    const li = el('li', '', when(ev.at) + ' ' + ev.supervisor + ': ' + ev.kind +
      (ev.child ? ' ' + ev.child : '') + (ev.reason ? ': ' + ev.reason : '') + (ev.delay ? ' (in ' + ev.delay + ')' : ''));
    evs.prepend(li);
    while (evs.childElementCount > 200) evs.lastElementChild.remove();
  }

  function flash(e) {
    e.row.classList.remove('flash');
    void e.row.offsetWidth; // restart the animation
    e.row.classList.add('flash');
    e.li.dataset.flashes = String(Number(e.li.dataset.flashes || 0) + 1);
  }

  // apply applies one pushed update.
  function apply(u) {
    if (loading || !doc) { queued.push(u); return; }
    let unknown = false;
    for (const n of u.nodes || []) {
      const e = rows.get(n.key);
      if (e) fill(e, n); else unknown = true;
    }
    for (const k of u.flash || []) {
      const e = rows.get(k);
      if (e) flash(e);
    }
    for (const ev of u.events || []) addEvent(ev);
    if (u.dropped) addEvent({ supervisor: 'page', kind: u.dropped + ' events not shown (slow reader)' });
    counts();
    if (unknown || u.reshape) reload();
    else if ($('filter').value) applyFilter();
  }

  // applyFilter shows the services whose text has the filter's words, with
  // their ancestors; collapsed subtrees open while a filter is on.
  function applyFilter() {
    const words = $('filter').value.toLowerCase().split(/\s+/).filter(Boolean);
    const tree = $('tree');
    tree.classList.toggle('filtering', words.length > 0);
    const visit = (li) => {
      let shown = false;
      const ul = li.lastElementChild && li.lastElementChild.tagName === 'UL' ? li.lastElementChild : null;
      if (ul) for (const c of ul.children) shown = visit(c) || shown;
      const text = li.dataset.text || '';
      const match = words.length > 0 && words.every((w) => text.includes(w));
      li.classList.toggle('match', match);
      shown = shown || match || words.length === 0;
      li.hidden = !shown;
      return shown;
    };
    for (const li of tree.children) visit(li);
  }

  async function control(action, path) {
    const headers = {};
    const tok = $('token').value;
    if (tok) headers.Authorization = 'Bearer ' + tok;
    $('status').textContent = action + ' ' + path + '…';
    try {
      const r = await fetch('control/' + action + '?id=' + encodeURIComponent(path), { method: 'POST', headers });
      const a = await r.json();
      $('status').textContent = action + ' ' + path + ': ' + (a.ok ? (a.error ? 'done, ' + a.error : 'done') : a.error);
    } catch (err) {
      $('status').textContent = action + ' ' + path + ': ' + err;
    }
  }

  $('tree').addEventListener('click', (ev) => {
    const b = ev.target.closest('button');
    if (!b) return;
    const li = b.closest('li.node');
    const e = li && rows.get(li.dataset.key);
    if (!e) return;
    if (b.classList.contains('toggle')) setCollapsed(e, !e.li.classList.contains('collapsed'));
    else if (b.dataset.action) control(b.dataset.action, e.data.path);
  });
  $('filter').addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(applyFilter, 80);
  });
  $('expand-all').addEventListener('click', () => {
    for (const e of rows.values()) if (e.li.classList.contains('collapsed')) setCollapsed(e, false);
  });
  $('collapse-all').addEventListener('click', () => {
    for (const e of rows.values()) if (e.li.querySelector('ul') && e.data.path !== doc.root.path) setCollapsed(e, true);
  });

  const conn = $('conn');
  // connect opens the event stream. A browser retries a stream whose
  // connection failed, but gives up for good on an answer other than 200
  // (503: the handler serves too many streams, or is closed): then the
  // page opens another, a few seconds later.
  function connect() {
    const es = new EventSource('events');
    es.addEventListener('open', () => {
      conn.dataset.conn = 'live';
      conn.textContent = 'live';
      reload(); // (again) after a reconnection: updates may have been missed
    });
    es.addEventListener('error', () => {
      conn.dataset.conn = 'down';
      conn.textContent = 'reconnecting';
      if (es.readyState === EventSource.CLOSED) setTimeout(connect, 3000);
    });
    es.addEventListener('update', (ev) => apply(JSON.parse(ev.data)));
  }
  connect();
})();
