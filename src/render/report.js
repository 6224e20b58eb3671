// The chaostracing HTML report: draws the trace model that report.c embeds
// (the #trace-data JSON) as a timeline. Rows are drawn lazily: only those in
// view exist in the DOM, so thousands of spans stay quick. Every text from
// the trace goes in through textContent, never as HTML.
'use strict';
(function () {
  var model = JSON.parse(document.getElementById('trace-data').textContent);
  var spans = model.spans, total = Math.max(model.duration, 1), ROW = 22, OVERSCAN = 30;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmt(us) {
    if (us === null || us === undefined) return '?';
    if (total < 10000) return (us / 1000).toFixed(us < 1000 ? 2 : 1) + ' ms';
    if (total < 10000000) return (us / 1000).toFixed(us < 10000 ? 1 : 0) + ' ms';
    return (us / 1e6).toFixed(us < 1e7 ? 2 : 1) + ' s';
  }
  function pct(us) { return (100 * us / total) + '%'; }
  function show(v) { return typeof v === 'string' ? v : JSON.stringify(v); }
  function attr(list, key) {
    for (var i = 0; list && i < list.length; i++) if (list[i][0] === key) return list[i][1];
    return undefined;
  }
  function event(s, name) {
    for (var i = 0; i < s.events.length; i++) if (s.events[i].name === name) return s.events[i];
    return null;
  }
  function phaseLabel(s) {
    var c = s.ctk || {};
    if (c.type !== 'hypothesis' || !c.phase) return '';
    return c.phase === 'continuous' ? 'continuous #' + (c.iteration || '?') : c.phase;
  }

  // ------------------------------------------------------------ header --
  function header() {
    var h = document.querySelector('header');
    var root = spans[0] || {}, facts = el('div', 'facts');
    var verdict = root.verdict || 'neutral';
    var word = root.status === 2 ? 'ERROR' : (root.ctk && root.ctk.status) || 'ok';
    if (root.ctk && root.ctk.deviated) word += ', deviated';
    var b = el('span', 'badge ' + verdict, word);
    facts.appendChild(b);
    [['started', model.start], ['duration', fmt(model.duration)],
     ['spans', spans.length], ['service', model.service], ['trace', model.traceId]]
      .forEach(function (f) {
        var s = el('span', null, f[0] + ' ');
        s.appendChild(el('b', null, f[1]));
        facts.appendChild(s);
      });
    if (model.otherTraces) facts.appendChild(el('span', null,
      '(' + model.otherTraces + ' other trace(s) in the file: chaostracing report --trace ID)'));
    h.appendChild(facts);
    var list = el('ul'), cont = 0, contBad = 0;
    list.id = 'hypotheses';
    spans.forEach(function (s) {
      var c = s.ctk || {};
      if (c.type !== 'hypothesis') return;
      if (c.phase === 'continuous') { cont++; if (c.met === false) contBad++; if (c.met !== false) return; }
      var li = el('li', null, 'Hypothesis ' + (phaseLabel(s) || '') + ' \u201c' + s.name + '\u201d: ');
      li.appendChild(el('span', 'chip ' + (c.met === false ? 'bad' : 'good'),
        c.met === false ? 'deviated' : c.met === true ? 'met' : 'not evaluated'));
      var d = event(s, 'chaostoolkit.hypothesis.deviated');
      if (d) li.appendChild(el('span', null, ' probe ' + show(attr(d.attrs, 'chaostoolkit.probe.name')) +
        ' returned ' + show(attr(d.attrs, 'chaostoolkit.probe.output')) + ', tolerance ' +
        show(attr(d.attrs, 'chaostoolkit.probe.tolerance'))));
      list.appendChild(li);
    });
    if (cont) list.appendChild(el('li', null, 'Continuous hypothesis: ' + cont + ' iteration(s), ' +
      contBad + ' deviated'));
    h.appendChild(list);
    var legend = el('div', 'legend');
    [['good', 'succeeded / met'], ['bad', 'failed / deviated'], ['neutral', 'no verdict'],
     ['band', 'an action is running']].forEach(function (l) {
      var s = el('span'), sw = el('span', 'swatch');
      sw.style.background = l[0] === 'band' ? 'var(--band)' : 'var(--' + l[0] + ')';
      s.appendChild(sw);
      s.appendChild(document.createTextNode(l[1]));
      legend.appendChild(s);
    });
    h.appendChild(legend);
  }

  // ---------------------------------------------------------- timeline --
  var chart = document.getElementById('chart'), rows = document.getElementById('rows');
  var axis = document.getElementById('axis'), details = document.getElementById('details');
  var drawn = {}, selected = -1;

  function ticks() {
    var raw = total / 8, p = Math.pow(10, Math.floor(Math.log10(raw))), step = p;
    [1, 2, 5, 10].some(function (m) { step = m * p; return step >= raw; });
    var area = el('div', 'track-area'), grid = el('div', 'track-area');
    axis.appendChild(el('span', 'title', 'span'));
    axis.appendChild(area);
    for (var t = 0; t <= total; t += step) {
      var label = el('span', 'label', fmt(t)), line = el('div', 'tick');
      label.style.left = line.style.left = pct(t);
      area.appendChild(label);
      grid.appendChild(line);
    }
    rows.appendChild(grid);
  }

  // The windows in which actions run, merged where they overlap, shaded
  // across every row.
  function bands() {
    var w = spans.filter(function (s) {
      return s.ctk && s.ctk.activity === 'action' && s.end !== null;
    }).map(function (s) { return [s.start, s.end, s.name]; });
    w.sort(function (a, b) { return a[0] - b[0]; });
    var merged = [];
    w.forEach(function (x) {
      var m = merged[merged.length - 1];
      if (m && x[0] <= m[1] + total / 2000) { m[1] = Math.max(m[1], x[1]); m[2].push(x[2]); }
      else merged.push([x[0], x[1], [x[2]]]);
    });
    var area = el('div', 'track-area');
    merged.forEach(function (m) {
      var b = el('div', 'band');
      b.style.left = pct(m[0]);
      b.style.width = pct(Math.max(m[1] - m[0], 0));
      b.title = m[2].slice(0, 5).join(', ') + (m[2].length > 5 ? ', \u2026' : '');
      area.appendChild(b);
    });
    rows.appendChild(area);
  }

  function row(i) {
    var s = spans[i], c = s.ctk || {};
    var r = el('div', 'row kind-' + (c.type || 'span') + (i === selected ? ' selected' : ''));
    r.style.top = (i * ROW) + 'px';
    r.dataset.index = i;
    r.dataset.spanId = s.id;
    r.dataset.parentId = s.parent >= 0 ? spans[s.parent].id : '';
    r.dataset.depth = s.depth;
    r.tabIndex = 0;
    r.setAttribute('role', 'button');
    var name = el('span', 'name');
    name.style.paddingLeft = (6 + 14 * Math.min(s.depth, 40)) + 'px';
    name.title = s.name;
    name.appendChild(el('span', 'name-text', s.name || '(no name)'));
    var chips = [c.activity, phaseLabel(s), c.background ? 'background' : ''];
    if (c.type === 'hypothesis' && c.met !== undefined) chips.push(c.met ? 'met' : 'deviated');
    chips.forEach(function (t) {
      if (t) name.appendChild(el('span', 'chip' + (t === 'deviated' ? ' bad' : t === 'met' ? ' good' : ''), t));
    });
    var track = el('span', 'track'), bar = el('span', 'bar ' + (s.verdict || 'neutral'));
    if (/^(experiment|method|rollbacks)$/.test(c.type || '')) bar.className += ' phase';
    if (c.background) bar.className += ' background';
    if (s.end !== null) {
      bar.style.left = pct(s.start);
      bar.style.width = pct(s.end - s.start);
    } else bar.style.display = 'none';
    bar.title = s.name + ' \u2013 ' + fmt(s.end === null ? null : s.end - s.start);
    track.appendChild(bar);
    r.appendChild(name);
    r.appendChild(track);
    r.appendChild(el('span', 'dur', fmt(s.end === null ? null : s.end - s.start)));
    return r;
  }

  // Draw the rows in view (and OVERSCAN either side), drop the others.
  function paint() {
    var first = Math.max(0, Math.floor(chart.scrollTop / ROW) - OVERSCAN);
    var last = Math.min(spans.length, Math.ceil((chart.scrollTop + chart.clientHeight) / ROW) + OVERSCAN);
    Object.keys(drawn).forEach(function (k) {
      if (k < first || k >= last) { rows.removeChild(drawn[k]); delete drawn[k]; }
    });
    for (var i = first; i < last; i++) if (!drawn[i]) rows.appendChild(drawn[i] = row(i));
  }

  // ----------------------------------------------------------- details --
  function table(list) {
    if (!list || !list.length) return el('div', 'empty', 'none');
    var t = el('table');
    list.forEach(function (kv) {
      var tr = el('tr');
      tr.appendChild(el('td', 'key', kv[0]));
      var v = el('td');
      var text = show(kv[1]);
      if (text.indexOf('\n') >= 0) v.appendChild(el('pre', null, text)); else v.textContent = text;
      tr.appendChild(v);
      t.appendChild(tr);
    });
    return t;
  }

  function select(i) {
    selected = i;
    Object.keys(drawn).forEach(function (k) {
      drawn[k].classList.toggle('selected', +k === i);
    });
    var s = spans[i];
    details.textContent = '';
    details.appendChild(el('h2', null, s.name || '(no name)'));
    var line = (s.status === 2 ? 'ERROR' : s.status === 1 ? 'OK' : 'status unset') +
      (s.message ? ': ' + s.message : '') + ' \u00b7 ' + fmt(s.end === null ? null : s.end - s.start) +
      ' \u00b7 starts at +' + fmt(s.start) + (s.kind ? ' \u00b7 ' + s.kind : '');
    details.appendChild(el('div', s.status === 2 ? 'error-text' : null, line));
    details.appendChild(el('div', 'empty', 'span ' + s.id + (s.service ? ' \u00b7 ' + s.service : '')));
    s.events.forEach(function (e) {
      if (e.name !== 'exception') return;
      details.appendChild(el('h3', null, 'Exception'));
      details.appendChild(el('div', 'error-text', show(attr(e.attrs, 'exception.type') || '') + ': ' +
        show(attr(e.attrs, 'exception.message') || '')));
      var st = attr(e.attrs, 'exception.stacktrace');
      if (st) details.appendChild(el('pre', null, st));
    });
    details.appendChild(el('h3', null, 'Attributes'));
    details.appendChild(table(s.attrs));
    details.appendChild(el('h3', null, 'Events'));
    if (!s.events.length) details.appendChild(el('div', 'empty', 'none'));
    s.events.forEach(function (e) {
      details.appendChild(el('div', null, e.name + ' at +' + fmt(e.t)));
      details.appendChild(table(e.attrs));
    });
    if (s.links.length) {
      details.appendChild(el('h3', null, 'Links'));
      details.appendChild(table(s.links.map(function (l) { return [l.traceId, l.spanId]; })));
    }
  }

  function pick(ev) {
    var r = ev.target.closest('.row');
    if (r) select(+r.dataset.index);
  }

  header();
  rows.style.height = (spans.length * ROW) + 'px';
  ticks();
  bands();
  chart.addEventListener('scroll', paint, { passive: true });
  window.addEventListener('resize', paint);
  rows.addEventListener('click', pick);
  rows.addEventListener('keydown', function (ev) {
    if (ev.key === 'Enter' || ev.key === ' ') { pick(ev); ev.preventDefault(); }
  });
  paint();
  details.appendChild(el('div', 'empty', 'Click a span to see its attributes, events and exception.'));
  document.documentElement.dataset.ready = 'true';
})();
