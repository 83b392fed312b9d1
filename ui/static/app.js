// condcache web UI: the writes (docs/design.md "Web UI"). Pages are
// rendered by the server; this file only sends the actions' requests to
// the reader's API (which proxies writes to the writer) and shows their
// answers. Text from the server is only ever set as textContent, never
// as HTML. The token lives in this tab's sessionStorage and travels only
// as the Authorization header: never in a cookie, a URL or a log.
'use strict';

(function () {
  const TOKEN = 'condcache.token';
  const FLASH = 'condcache.flash';

  function token() {
    try { return sessionStorage.getItem(TOKEN) || ''; } catch (e) { return ''; }
  }

  // ---------------------------------------------------------------- JSON
  // Integers are sent exactly as typed: runs may exceed what a JavaScript
  // number holds (MAX is 9223372036854775807).
  function Int(text) { this.text = text; }
  function encode(v) {
    if (v instanceof Int) return v.text;
    if (Array.isArray(v)) return '[' + v.map(encode).join(',') + ']';
    if (v !== null && typeof v === 'object') {
      return '{' + Object.keys(v).filter(function (k) { return v[k] !== undefined; })
        .map(function (k) { return JSON.stringify(k) + ':' + encode(v[k]); }).join(',') + '}';
    }
    return JSON.stringify(v);
  }

  // describe turns an error answer into what the user reads: the server's
  // detail (and code), or its field errors.
  function describe(status, data) {
    if (status === 0) return data;
    let msg = 'HTTP ' + status;
    if (data && typeof data === 'object') {
      if (data.code) msg += ' ' + data.code;
      if (typeof data.detail === 'string') return msg + ': ' + data.detail;
      const fields = Object.keys(data).filter(function (k) { return k !== 'code'; })
        .map(function (k) { return k + ': ' + [].concat(data[k]).join(' '); });
      if (fields.length) return msg + ': ' + fields.join('; ');
    }
    return msg;
  }

  async function api(method, url, body) {
    const init = { method: method, headers: { 'Accept': 'application/json' }, credentials: 'omit', cache: 'no-store', redirect: 'error' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = encode(body);
    }
    const t = token();
    if (t) init.headers['Authorization'] = 'Bearer ' + t;
    let res;
    try {
      res = await fetch(url, init);
    } catch (e) {
      return { ok: false, status: 0, data: null, message: 'The server could not be reached (' + e.message + ').' };
    }
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    return { ok: res.ok, status: res.status, data: data, message: res.ok ? '' : describe(res.status, data) };
  }

  // seg encodes one path segment; "." and ".." too, which a URL would
  // otherwise resolve away.
  function seg(s) {
    if (s === '.') return '%2E';
    if (s === '..') return '%2E%2E';
    return encodeURIComponent(s);
  }
  const R = '/api/cdb_rest/';
  const V = '/api/v2/';

  function page(name, params) {
    const q = new URLSearchParams(params).toString();
    return '/ui/' + name + (q ? '?' + q : '');
  }

  // parsePoint reads "R" or "R.m"; noMinor is what a missing subrun is
  // (undefined: leave it out).
  function parsePoint(text, field, noMinor) {
    const m = /^\s*(-?\d+)(?:\.(-?\d+))?\s*$/.exec(text);
    if (!m) throw new Error(field + ': a run "R" or a run and subrun "R.m" is needed.');
    const p = { major: new Int(m[1]) };
    if (m[2] !== undefined) p.minor = new Int(m[2]);
    else if (noMinor !== undefined) p.minor = new Int(noMinor);
    return p;
  }

  function show(out, text, kind) {
    if (!out) return;
    out.textContent = text;
    out.classList.remove('ok', 'error', 'busy');
    if (kind) out.classList.add(kind);
  }

  function flashAndGo(text, url) {
    try { sessionStorage.setItem(FLASH, text); } catch (e) { /* none */ }
    if (url) location.assign(url); else location.reload();
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }

  function pointText(p) {
    if (!p) return '∞';
    const c = function (v) { return v === 9223372036854775807 || String(v) === '9223372036854775807' ? 'MAX' : String(v); };
    return c(p.major) + '.' + c(p.minor);
  }

  function payloadText(x) {
    if (!x) return 'no answer';
    return x.url + ' (checksum ' + x.checksum + ', size ' + (x.size === null || x.size === undefined ? '—' : x.size) + ', IOV ' + x.id + ')';
  }

  // renderDryRun shows what a dry run says a write would do.
  function renderDryRun(box, d) {
    box.replaceChildren();
    const changes = d.answer_changes || [];
    box.appendChild(el('h3', changes.length ? 'Answers that would change' : 'No answer would change'));
    if (changes.length) {
      const t = el('table', undefined, 'data answer-changes');
      const head = el('tr');
      ['Global tag', 'Type', 'From', 'Until', 'Before', 'After'].forEach(function (h) { const th = el('th', h); th.scope = 'col'; head.appendChild(th); });
      t.appendChild(el('thead')).appendChild(head);
      const body = el('tbody');
      changes.forEach(function (c) {
        const tr = el('tr');
        tr.dataset.from = c.from.major + '.' + c.from.minor;
        tr.dataset.until = c.until ? c.until.major + '.' + c.until.minor : '';
        [c.global_tag, c.payload_type, pointText(c.from), pointText(c.until), payloadText(c.before), payloadText(c.after)]
          .forEach(function (v, i) { const td = el('td', String(v)); if (i === 4) td.className = 'before'; if (i === 5) td.className = 'after'; tr.appendChild(td); });
        body.appendChild(tr);
      });
      t.appendChild(body);
      box.appendChild(t);
      if (d.answer_changes_total > changes.length) box.appendChild(el('p', '… and ' + (d.answer_changes_total - changes.length) + ' more.'));
    }
    const rows = d.changes || [];
    if (rows.length) {
      const p = el('p', 'Rows: ');
      const counts = {};
      rows.forEach(function (c) { const k = c.table + ' ' + c.action; counts[k] = (counts[k] || 0) + 1; });
      p.textContent += Object.keys(counts).map(function (k) { return k + ' × ' + counts[k]; }).join(', ');
      if (d.changes_total > rows.length) p.textContent += ' (' + d.changes_total + ' in all)';
      box.appendChild(p);
    }
    if (d.forced && d.forced.length) {
      box.appendChild(el('p', 'Protected objects it would delete under force: ' + d.forced.length + '.', 'error'));
    }
  }

  // ------------------------------------------------------------ actions
  // Each returns nothing; it shows its outcome in the form's output.
  const actions = {
    'create-gt': async function (f, out) {
      const name = f.elements.name.value;
      const body = { name: name, status: f.elements.status.value };
      if (f.elements.author.value) body.author = f.elements.author.value;
      const r = await api('POST', R + 'gt', body);
      if (!r.ok) return show(out, r.message, 'error');
      flashAndGo('Global tag ' + r.data.name + ' created.', page('gt', { name: r.data.name }));
    },
    'create-type': async function (f, out) {
      const r = await api('POST', R + 'pt', { name: f.elements.name.value });
      if (!r.ok) return show(out, r.message, 'error');
      flashAndGo('Payload type ' + r.data.name + ' created.', page('type', { name: r.data.name }));
    },
    'clone': async function (f, out) {
      const src = f.dataset.gt, dst = f.elements.dst.value;
      const r = await api('POST', R + 'cloneGlobalTag/' + seg(src) + '/' + seg(dst));
      if (!r.ok) return show(out, r.message, 'error');
      flashAndGo('Cloned ' + src + ' into ' + dst + '.', page('gt', { name: dst }));
    },
    'status': async function (f, out, submitter) {
      const status = submitter && submitter.value;
      if (!status) return show(out, 'Choose a status.', 'error');
      const r = await api('PUT', R + 'gt_change_status/' + seg(f.dataset.gt) + '/' + seg(status));
      if (!r.ok) return show(out, r.message, 'error');
      flashAndGo('Status of ' + f.dataset.gt + ' set to ' + status + '.');
    },
    'add-list': async function (f, out) {
      const type = f.elements.type.value;
      const pl = await api('POST', R + 'pl', { payload_type: type });
      if (!pl.ok) return show(out, pl.message, 'error');
      const r = await api('PUT', R + 'pl_attach', { global_tag: f.dataset.gt, payload_list: pl.data.name });
      if (!r.ok) return show(out, 'List ' + pl.data.name + ' created but not attached: ' + r.message, 'error');
      flashAndGo('List ' + pl.data.name + ' of type ' + type + ' attached.');
    },
    'delete-gt': function (f, out) {
      return twoStep(f, out, 'DELETE', R + 'deleteGlobalTag/' + seg(f.dataset.gt), undefined,
        'Delete global tag ' + f.dataset.gt, '/ui/gts');
    },
    'delete-iov': function (f, out) {
      return twoStep(f, out, 'POST', V + 'iovs/delete', { ids: [new Int(f.dataset.id)] },
        'Delete IOV ' + f.dataset.id, f.dataset.back);
    },
    'delete-notice': function (f, out) {
      return twoStep(f, out, 'DELETE', V + 'notices/' + seg(f.dataset.id), undefined,
        'Delete notice ' + f.dataset.id, '/ui/notices');
    },
    'notice': async function (f, out) {
      const body = { description: f.elements.description.value, importance: f.elements.importance.value };
      if (f.dataset.gt) body.global_tags = [f.dataset.gt];
      if (f.dataset.type) body.payload_types = [f.dataset.type];
      if (f.dataset.list) body.payload_lists = [f.dataset.list];
      if (f.dataset.iov) body.iovs = [new Int(f.dataset.iov)];
      try {
        const from = f.elements.from.value.trim(), to = f.elements.to.value.trim();
        if (from || to) {
          body.runs = { from: parsePoint(from || to, 'From', '0'), to: parsePoint(to || from, 'To') };
        }
      } catch (e) { return show(out, e.message, 'error'); }
      const r = await api('POST', V + 'notices', body);
      if (!r.ok) return show(out, r.message, 'error');
      flashAndGo('Notice ' + r.data.id + ' (' + r.data.importance + ') added.');
    },
    'attach': attach,
  };

  // twoStep runs a write as a dry run first, shows what it would do (or
  // why it is refused: a protected object, a frozen GT), and makes it only
  // after the user confirms.
  async function twoStep(f, out, method, url, body, what, after) {
    const sep = url.indexOf('?') < 0 ? '?' : '&';
    show(out, 'Asking the server what this would do…', 'busy');
    const dry = await api(method, url + sep + 'dry_run=1', body);
    if (!dry.ok) return show(out, what + ' is refused: ' + dry.message, 'error');
    const n = dry.data.changes_total || 0;
    show(out, what + ': ' + n + ' rows would be deleted or changed, ' + (dry.data.answer_changes_total || 0) + ' answer ranges would change.', '');
    const confirm = el('button', 'Yes, ' + what.charAt(0).toLowerCase() + what.slice(1), 'danger confirm');
    confirm.type = 'button';
    const cancel = el('button', 'Cancel', 'cancel');
    cancel.type = 'button';
    const box = el('span', undefined, 'confirm-box');
    box.append(' ', confirm, ' ', cancel);
    out.appendChild(box);
    confirm.focus();
    cancel.addEventListener('click', function () { show(out, 'Cancelled; nothing was written.', ''); });
    confirm.addEventListener('click', async function () {
      show(out, 'Working…', 'busy');
      const r = await api(method, url, body);
      if (!r.ok) return show(out, r.message, 'error');
      flashAndGo(what + ': done.', after);
    });
  }

  // attach: Preview creates the IOV (detached, so no answer changes) and
  // dry-runs attaching it; Apply attaches that very IOV. Editing the form
  // after a preview asks for a new one.
  async function attach(f, out, submitter) {
    const preview = f.querySelector('.preview');
    const apply = f.querySelector('button.apply');
    const list = f.dataset.list;
    if (submitter && submitter.value === 'apply') {
      if (!f.dataset.iov) return show(out, 'Preview first.', 'error');
      show(out, 'Attaching…', 'busy');
      const r = await api('PUT', R + 'piov_attach', { payload_list: list, piov_id: new Int(f.dataset.iov) });
      if (!r.ok) return show(out, r.message, 'error');
      flashAndGo('IOV ' + f.dataset.iov + ' attached to ' + list + '.');
      return;
    }
    let start, end;
    const e = f.elements;
    try {
      start = parsePoint(e.from.value, 'From', '0');
      if (e.to.value.trim()) end = parsePoint(e.to.value, 'To', '0');
    } catch (err) { return show(out, err.message, 'error'); }
    const size = e.size.value.trim();
    if (size && !/^\d+$/.test(size)) return show(out, 'Size: a number of bytes is needed.', 'error');
    const iov = { payload_url: e.payload_url.value, checksum: e.checksum.value, major_iov: start.major, minor_iov: start.minor };
    if (size) iov.size = new Int(size);
    if (end) { iov.major_iov_end = end.major; iov.minor_iov_end = end.minor; }
    const key = encode(iov);
    show(out, 'Creating the IOV and asking what attaching it would change…', 'busy');
    if (f.dataset.key !== key) {
      delete f.dataset.iov;
      const c = await api('POST', R + 'piov', iov);
      if (!c.ok) return show(out, c.message, 'error');
      f.dataset.iov = String(c.data.id);
      f.dataset.key = key;
    }
    const dry = await api('PUT', R + 'piov_attach?dry_run=1', { payload_list: list, piov_id: new Int(f.dataset.iov) });
    if (!dry.ok) {
      apply.disabled = true;
      preview.replaceChildren();
      return show(out, 'IOV ' + f.dataset.iov + ' (detached) cannot be attached: ' + dry.message, 'error');
    }
    renderDryRun(preview, dry.data);
    apply.disabled = false;
    show(out, 'Preview of attaching IOV ' + f.dataset.iov + ' to ' + list + '; nothing is attached until Apply.', 'ok');
  }

  function wireActions() {
    document.querySelectorAll('form.action').forEach(function (f) {
      const run = actions[f.dataset.action];
      if (!run) return;
      f.addEventListener('submit', function (ev) {
        ev.preventDefault();
        const out = f.querySelector('output.result');
        const buttons = f.querySelectorAll('button');
        buttons.forEach(function (b) { b.setAttribute('aria-busy', 'true'); });
        Promise.resolve(run(f, out, ev.submitter)).catch(function (err) {
          show(out, 'Failed: ' + err.message, 'error');
        }).finally(function () {
          buttons.forEach(function (b) { b.removeAttribute('aria-busy'); });
        });
      });
      if (f.dataset.action === 'attach') {
        f.addEventListener('input', function () {
          const apply = f.querySelector('button.apply');
          if (apply) apply.disabled = true;
        });
      }
    });
  }

  // -------------------------------------------------------------- token
  function wireToken() {
    const toggle = document.getElementById('token-toggle');
    const form = document.getElementById('token-form');
    const state = document.getElementById('token-state');
    if (!toggle || !form) return;
    const input = document.getElementById('token-input');
    const refresh = function () { state.textContent = token() ? 'token set (this tab)' : 'no token'; };
    refresh();
    toggle.addEventListener('click', function () {
      const open = form.hidden;
      form.hidden = !open;
      toggle.setAttribute('aria-expanded', String(open));
      if (open) input.focus();
    });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      const v = input.value.trim().replace(/^Bearer\s+/i, '');
      try {
        if (v) sessionStorage.setItem(TOKEN, v); else sessionStorage.removeItem(TOKEN);
      } catch (e) { state.textContent = 'this browser keeps no session storage'; return; }
      input.value = '';
      form.hidden = true;
      toggle.setAttribute('aria-expanded', 'false');
      refresh();
      toggle.focus();
    });
    document.getElementById('token-forget').addEventListener('click', function () {
      try { sessionStorage.removeItem(TOKEN); } catch (e) { /* none */ }
      input.value = '';
      refresh();
    });
  }

  // ----------------------------------------------------------- timeline
  // Hovering or focusing a segment shows its payload in #seg-detail.
  function wireTimeline() {
    const detail = document.getElementById('seg-detail');
    if (!detail) return;
    const showSeg = function (ev) {
      const s = ev.target.closest && ev.target.closest('.seg');
      if (!s) return;
      detail.textContent = s.dataset.label;
      detail.dataset.kind = s.dataset.kind;
    };
    document.querySelectorAll('.lane-bar').forEach(function (bar) {
      bar.addEventListener('mouseover', showSeg);
      bar.addEventListener('focusin', showSeg);
    });
  }

  function showFlash() {
    let text = null;
    try {
      text = sessionStorage.getItem(FLASH);
      sessionStorage.removeItem(FLASH);
    } catch (e) { /* none */ }
    if (!text) return;
    const main = document.getElementById('main');
    const p = el('p', text, 'flash');
    p.setAttribute('role', 'status');
    main.insertBefore(p, main.firstChild);
  }

  document.addEventListener('DOMContentLoaded', function () {
    showFlash();
    wireToken();
    wireActions();
    wireTimeline();
  });
})();
