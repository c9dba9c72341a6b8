// bertbench HTML report: the per-item table (sort, filter, only changed
// items, the difference between two variations' outputs). Every text from
// the data is put in the page with textContent, never as markup.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('bertbench-data').textContent);
  var sides = data.sides;
  var base = Math.max(0, sides.findIndex(function (s) { return s.baseline; }));
  var tol = data.settings.tie_tolerance;
  var pageSize = 50;

  function sideLabel(s) { return s.variation ? s.run + ':' + s.variation : s.run; }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function fmt(x, signed) {
    if (x === null || x === undefined) { return '-'; }
    var s = x.toFixed(3);
    if (s === '-0.000') { s = '0.000'; }
    return signed && x >= 0 ? '+' + s : s;
  }

  var rows = data.items.map(function (it, i) {
    var text = [it.id, it.source].concat(it.references);
    var changed = false;
    var baseOut = it.sides[base].outputs.join('\u0000');
    it.sides.forEach(function (s, k) {
      text = text.concat(s.outputs);
      if (k === base) { return; }
      if (s.delta && Math.abs(s.delta.f) >= tol) { changed = true; }
      if (s.outputs.join('\u0000') !== baseOut) { changed = true; }
    });
    return { i: i, it: it, text: text.join('\n').toLowerCase(), changed: changed };
  });

  var state = { key: 'order', side: -1, dir: 1, filter: '', changed: false, page: 0, a: base, b: -1 };
  state.b = sides.length > 1 ? (base === 0 ? 1 : 0) : base;

  // Columns: what each sorts on.
  var columns = [{ label: '#', key: 'order' }, { label: 'item', key: 'id' }, { label: 'source', key: 'source' }, { label: 'references', key: null }];
  sides.forEach(function (s, k) {
    columns.push({ label: sideLabel(s) + (k === base ? ' (baseline)' : ''), key: 'f', side: k });
    if (k !== base) { columns.push({ label: 'Δ F ' + sideLabel(s), key: 'delta', side: k }); }
  });
  columns.push({ label: 'difference', key: null, diff: true });

  function sortValue(r, col) {
    switch (col.key) {
      case 'order': return r.i;
      case 'id': return r.it.id;
      case 'source': return r.it.source;
      case 'f': var raw = r.it.sides[col.side].raw; return raw ? raw.f : null;
      case 'delta': var d = r.it.sides[col.side].delta; return d ? d.f : null;
    }
    return null;
  }

  var table = document.getElementById('item-table');
  var thead = table.tHead, tbody = table.tBodies[0];

  function renderHead() {
    thead.textContent = '';
    var tr = el('tr');
    columns.forEach(function (col, c) {
      var th = el('th');
      th.setAttribute('scope', 'col');
      if (col.diff) {
        th.textContent = 'difference ' + sideLabel(sides[state.a]) + ' → ' + sideLabel(sides[state.b]);
      } else if (col.key) {
        var b = el('button', null, col.label);
        b.type = 'button';
        b.setAttribute('data-col', String(c));
        b.addEventListener('click', function () { sortBy(c); });
        th.appendChild(b);
        if (state.key === col.key && (col.side === undefined || col.side === state.side)) {
          th.setAttribute('aria-sort', state.dir > 0 ? 'ascending' : 'descending');
        }
      } else {
        th.textContent = col.label;
      }
      tr.appendChild(th);
    });
    thead.appendChild(tr);
  }

  function sortBy(c) {
    var col = columns[c];
    var side = col.side === undefined ? -1 : col.side;
    if (state.key === col.key && state.side === side) {
      state.dir = -state.dir;
    } else {
      state.key = col.key; state.side = side;
      state.dir = col.key === 'delta' || col.key === 'f' ? -1 : 1;
    }
    state.page = 0;
    render();
  }

  function visibleRows() {
    var q = state.filter.trim().toLowerCase();
    var out = rows.filter(function (r) {
      return (!state.changed || r.changed) && (q === '' || r.text.indexOf(q) >= 0);
    });
    var col = columns.find(function (c) { return c.key === state.key && (c.side === undefined || c.side === state.side); }) || columns[0];
    out.sort(function (x, y) {
      var a = sortValue(x, col), b = sortValue(y, col);
      if (a === b) { return x.i - y.i; }
      if (a === null) { return 1; }
      if (b === null) { return -1; }
      var c = typeof a === 'string' ? a.localeCompare(b) : a - b;
      return c === 0 ? x.i - y.i : state.dir * c;
    });
    return out;
  }

  // tokens splits a text into words, spaces, single CJK characters and
  // single marks, the units of the difference.
  var tokenRe;
  try {
    var cjk = '[\\p{Script=Han}\\p{Script=Hiragana}\\p{Script=Katakana}\\p{Script=Hangul}]';
    tokenRe = new RegExp('\\s+|' + cjk + '|(?:(?!' + cjk + ')[\\p{L}\\p{N}\\p{M}_])+|[^\\s]', 'gu');
  } catch (e) {
    tokenRe = /\s+|\w+|[^\s]/g;
  }
  function tokens(s) { return s.match(tokenRe) || []; }

  // diff returns the operations that turn a into b (a longest common
  // subsequence of tokens); null when the texts are too long to compare.
  function diff(a, b) {
    var x = tokens(a), y = tokens(b), n = x.length, m = y.length;
    if (n * m > 250000) { return null; }
    var L = new Array(n + 1);
    for (var i = 0; i <= n; i++) { L[i] = new Uint16Array(m + 1); }
    for (i = n - 1; i >= 0; i--) {
      for (var j = m - 1; j >= 0; j--) {
        L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
      }
    }
    var ops = [];
    function push(t, s) {
      var last = ops[ops.length - 1];
      if (last && last.t === t) { last.s += s; } else { ops.push({ t: t, s: s }); }
    }
    i = 0; j = 0;
    while (i < n && j < m) {
      if (x[i] === y[j]) { push('=', x[i]); i++; j++; }
      else if (L[i + 1][j] >= L[i][j + 1]) { push('-', x[i]); i++; }
      else { push('+', y[j]); j++; }
    }
    for (; i < n; i++) { push('-', x[i]); }
    for (; j < m; j++) { push('+', y[j]); }
    return ops;
  }

  function firstOutput(s) {
    for (var k = 0; k < s.outputs.length; k++) { if (s.outputs[k] !== '') { return s.outputs[k]; } }
    return null;
  }

  function diffCell(r) {
    var td = el('td', 'text diff');
    if (state.a === state.b) { td.textContent = 'choose two variations'; return td; }
    var a = firstOutput(r.it.sides[state.a]), b = firstOutput(r.it.sides[state.b]);
    if (a === null || b === null) { td.textContent = 'no output on one side'; return td; }
    if (a === b) { td.appendChild(el('span', 'same', 'same output')); return td; }
    var ops = diff(a, b);
    if (ops === null) { td.textContent = 'too long to compare'; return td; }
    ops.forEach(function (op) {
      td.appendChild(el(op.t === '=' ? 'span' : op.t === '+' ? 'ins' : 'del', null, op.s));
    });
    return td;
  }

  function sideCell(r, k) {
    var s = r.it.sides[k];
    var td = el('td', 'text');
    if (s.generations === 0) { td.appendChild(el('span', 'note', 'no generation')); return td; }
    s.outputs.forEach(function (o, rep) {
      var d = el('div', 'out');
      if (s.outputs.length > 1) { d.appendChild(el('span', 'rep', '#' + (rep + 1))); }
      d.appendChild(document.createTextNode(o));
      td.appendChild(d);
    });
    s.flags.forEach(function (f) { td.appendChild(el('span', 'flag', f)); });
    if (s.errors > 0) { td.appendChild(el('span', 'err', ' ' + s.errors + ' failed')); }
    var sc = el('span', 'score', 'F ' + fmt(s.raw ? s.raw.f : null));
    if (s.rescaled) { sc.appendChild(document.createTextNode(' · rescaled ' + fmt(s.rescaled.f))); }
    td.appendChild(sc);
    return td;
  }

  function deltaCell(r, k) {
    var d = r.it.sides[k].delta;
    var td = el('td', 'num');
    var v = d ? d.f : null;
    var span = el('span', v === null || Math.abs(v) < tol ? '' : v > 0 ? 'up' : 'down', fmt(v, true));
    var sc = el('span', 'score');
    sc.appendChild(span);
    td.appendChild(sc);
    return td;
  }

  function render() {
    renderHead();
    var vis = visibleRows();
    var pages = Math.max(1, Math.ceil(vis.length / pageSize));
    state.page = Math.min(state.page, pages - 1);
    var start = state.page * pageSize, page = vis.slice(start, start + pageSize);
    tbody.textContent = '';
    page.forEach(function (r) {
      var tr = el('tr', r.it.compared ? '' : 'excluded');
      tr.setAttribute('data-id', r.it.id);
      tr.appendChild(el('td', 'num', r.i + 1));
      tr.appendChild(el('td', 'text', r.it.id));
      tr.appendChild(el('td', 'text', r.it.source));
      tr.appendChild(el('td', 'text', r.it.references.join('\n')));
      sides.forEach(function (s, k) {
        tr.appendChild(sideCell(r, k));
        if (k !== base) { tr.appendChild(deltaCell(r, k)); }
      });
      tr.appendChild(diffCell(r));
      tbody.appendChild(tr);
    });
    document.getElementById('count').textContent = vis.length + ' of ' + rows.length + ' items';
    document.getElementById('page').textContent = vis.length === 0 ? 'no item' :
      'items ' + (start + 1) + '–' + (start + page.length) + ' of ' + vis.length;
    document.getElementById('prev').disabled = state.page === 0;
    document.getElementById('next').disabled = state.page >= pages - 1;
  }

  function fillSelect(id, value, set) {
    var sel = document.getElementById(id);
    sides.forEach(function (s, k) {
      var o = el('option', null, sideLabel(s) + (k === base ? ' (baseline)' : ''));
      o.value = String(k);
      sel.appendChild(o);
    });
    sel.value = String(value);
    sel.addEventListener('change', function () { set(Number(sel.value)); render(); });
  }

  fillSelect('diff-a', state.a, function (v) { state.a = v; });
  fillSelect('diff-b', state.b, function (v) { state.b = v; });
  document.getElementById('filter').addEventListener('input', function (e) { state.filter = e.target.value; state.page = 0; render(); });
  document.getElementById('changed').addEventListener('change', function (e) { state.changed = e.target.checked; state.page = 0; render(); });
  document.getElementById('prev').addEventListener('click', function () { state.page--; render(); });
  document.getElementById('next').addEventListener('click', function () { state.page++; render(); });
  render();
  document.documentElement.setAttribute('data-ready', 'true');
}());
