// Rules: browse packs and their versions, edit a pack with validation as
// you type, diff two versions, backtest the draft against recent stored
// history next to the active pack, put a rule in shadow mode, save,
// activate and roll back.
import { api, h, t, tx, field, select, fmtInt, fmtYuan, fmtTime, say, screen, session } from './app.js';

// diffLines is a line diff by longest common subsequence: [op, line] with
// op ' ', '-' or '+'. Packs are a few thousand lines at most.
export function diffLines(a, b) {
  const A = a.split('\n'), B = b.split('\n');
  // Trim the common head and tail, then LCS the middle.
  let s = 0;
  while (s < A.length && s < B.length && A[s] === B[s]) s++;
  let ea = A.length, eb = B.length;
  while (ea > s && eb > s && A[ea - 1] === B[eb - 1]) { ea--; eb--; }
  const a2 = A.slice(s, ea), b2 = B.slice(s, eb);
  const n = a2.length, m = b2.length;
  const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) L[i][j] = a2[i] === b2[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = A.slice(0, s).map((l) => [' ', l]);
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a2[i] === b2[j]) { out.push([' ', a2[i]]); i++; j++; } else if (L[i + 1][j] >= L[i][j + 1]) out.push(['-', a2[i++]]); else out.push(['+', b2[j++]]);
  }
  while (i < n) out.push(['-', a2[i++]]);
  while (j < m) out.push(['+', b2[j++]]);
  return out.concat(A.slice(ea).map((l) => [' ', l]));
}

function diffView(a, b, la, lb) {
  const d = diffLines(a, b);
  const changed = d.filter(([op]) => op !== ' ').length;
  // Show changes with three lines of context.
  const keep = d.map(([op], i) => op !== ' ' || d.slice(Math.max(0, i - 3), i + 4).some(([o]) => o !== ' '));
  const lines = [];
  let skipped = false;
  d.forEach(([op, l], i) => {
    if (!keep[i]) { if (!skipped) lines.push(h('div', { class: 'd-skip' }, '…')); skipped = true; return; }
    skipped = false;
    lines.push(h('div', { class: op === '+' ? 'd-add' : op === '-' ? 'd-del' : 'd-ctx' }, op + ' ' + l));
  });
  return h('div', { id: 'diff' }, h('p', { class: 'muted' }, t('rules.diff_of', { a: la, b: lb, n: changed })), h('pre', { class: 'diff' }, lines));
}

// toggleShadow sets the mode of the rule the cursor is in: shadow rules
// are evaluated and logged, never acted on.
export function toggleShadow(src, pos) {
  const lines = src.split('\n');
  let at = src.slice(0, pos).split('\n').length - 1;
  let start = -1;
  for (let i = at; i >= 0; i--) if (/^\s*- id:/.test(lines[i])) { start = i; break; }
  if (start < 0) return null;
  const indent = lines[start].match(/^(\s*)-/)[1].length + 2;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    const l = lines[i];
    if (l.trim() === '' || l.trim().startsWith('#')) continue;
    const ind = l.match(/^(\s*)/)[1].length;
    if (ind < indent) { end = i; break; }
  }
  const id = lines[start].replace(/^\s*- id:\s*/, '').trim();
  for (let i = start + 1; i < end; i++) {
    const m = lines[i].match(/^(\s*)mode:\s*(\w+)/);
    if (m && m[1].length === indent) {
      const next = m[2] === 'shadow' ? 'active' : 'shadow';
      lines[i] = m[1] + 'mode: ' + next;
      return { src: lines.join('\n'), id, mode: next };
    }
  }
  lines.splice(start + 1, 0, ' '.repeat(indent) + 'mode: shadow');
  return { src: lines.join('\n'), id, mode: 'shadow' };
}

const TEMPLATE = `pack: my_pack
description:
  zh: 新规则包
  en: A new pack
rules:
  - id: BIG_NIGHT_TRANSFER
    name: {zh: 夜间大额转账, en: Big transfer at night}
    description: {zh: 夜间向新收款人大额转账, en: A big transfer to a new payee at night}
    nodes: [transfer]
    when: event.amount >= 20000 && event.night && payee.known_days < 1
    score: 0.6
    action: friction
    typology: fake_investment
    code: BIG_NIGHT_TRANSFER
    mode: shadow
`;

function backtestView(r) {
  const rows = [
    ['rules.bt_interventions', (s) => fmtInt(s.interventions)],
    ...['remind', 'friction', 'cooling_off', 'hold', 'block'].map((a) => ['action.' + a, (s) => fmtInt(s.actions[a] || 0)]),
    ['rules.bt_money', (s) => fmtYuan(s.money_stopped)],
    ['rules.bt_fraud_warned', (s) => fmtInt(s.fraud_warned) + ' / ' + fmtInt(r.fraud_labelled)],
    ['rules.bt_fraud_stopped', (s) => fmtInt(s.fraud_stopped) + ' / ' + fmtInt(r.fraud_labelled)],
    ['rules.bt_false', (s) => fmtInt(s.false_alarms_flagged) + ' / ' + fmtInt(r.false_alarms_labelled)],
  ];
  const topRules = r.draft.rules.filter((x) => x.hits > 0).slice(0, 12);
  return h('section', { class: 'card', id: 'backtest' },
    h('h2', {}, t('rules.bt_title')),
    h('p', { class: 'muted' }, t('rules.bt_meta', { n: fmtInt(r.events), from: fmtTime(r.from), to: fmtTime(r.to), s: r.seconds.toFixed(1) })),
    h('p', { id: 'bt-summary', dataset: { changed: String(r.changed_count), stronger: String(r.stronger) } }, h('strong', {}, t('rules.bt_changed', { n: fmtInt(r.changed_count), up: fmtInt(r.stronger), down: fmtInt(r.weaker) }))),
    h('table', { class: 'data' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, ''), h('th', { scope: 'col' }, t('rules.bt_active')), h('th', { scope: 'col' }, t('rules.bt_draft')))),
      h('tbody', {}, rows.map(([k, f]) => h('tr', {}, h('th', { scope: 'row' }, t(k)), h('td', { class: 'num' }, f(r.active)), h('td', { class: 'num' }, f(r.draft)))))),
    topRules.length ? h('table', { class: 'data' }, h('caption', {}, t('rules.bt_rules')),
      h('tbody', {}, topRules.map((x) => h('tr', {}, h('td', {}, h('code', {}, x.rule), x.shadow ? ' (' + t('rules.shadow') + ')' : ''), h('td', { class: 'num' }, fmtInt(x.hits)))))) : null,
    r.changed.length ? h('table', { class: 'data' }, h('caption', {}, t('rules.bt_changed_list')),
      h('thead', {}, h('tr', {}, ['dec.time', 'dec.customer', 'dec.node', 'dec.amount', 'rules.bt_active', 'rules.bt_draft', 'dec.outcome'].map((k) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, r.changed.slice(0, 30).map((c) => h('tr', {}, h('td', {}, fmtTime(c.occurred_at)), h('td', {}, c.customer_id), h('td', {}, tx('node', c.event_type)),
        h('td', { class: 'num' }, fmtYuan(c.amount)), h('td', {}, tx('action', c.active_action)), h('td', {}, tx('action', c.draft_action), c.draft_rules ? h('small', {}, ' ' + c.draft_rules.join(', ')) : ''),
        h('td', {}, c.outcome ? tx('outcome', c.outcome) : ''))))) : null);
}

screen('rules', {
  nav: true,
  scope: 'rules:read',
  async render(main, args) {
    const admin = session.can('rules:admin');
    const packsBox = h('nav', { class: 'card packs', 'aria-label': t('rules.packs') });
    const versionsBox = h('section', { class: 'card', id: 'versions' });
    const editor = h('textarea', { id: 'editor', class: 'code', spellcheck: 'false', rows: '24', 'aria-describedby': 'validity' });
    const validity = h('div', { id: 'validity', class: 'validity', role: 'status', 'aria-live': 'polite' });
    const days = select('days', [['1', t('rules.d1')], ['7', t('rules.d7')], ['30', t('rules.d30')]], '7');
    const comment = h('input', { name: 'comment', id: 'comment' });
    const out = h('div', { id: 'rules-out' });
    let pack = args[0] || null;
    let versions = [];
    let loadedFrom = '';

    const btn = (key, onclick, extra = {}) => h('button', { type: 'button', onclick, ...extra }, t(key));
    const toolbar = h('div', { class: 'toolbar wrap' },
      btn('rules.backtest', () => backtest(), { id: 'btn-backtest', class: 'primary' }), field(t('rules.window'), days),
      btn('rules.shadow_toggle', () => shadow(), { id: 'btn-shadow', title: t('rules.shadow_hint') }),
      btn('rules.diff_loaded', () => { out.replaceChildren(diffView(loadedFrom, editor.value, t('rules.loaded'), t('rules.draft'))); }),
      admin ? field(t('rules.comment'), comment) : null,
      admin ? btn('rules.save', () => save(false), { id: 'btn-save' }) : null,
      admin ? btn('rules.save_activate', () => save(true), { id: 'btn-save-activate' }) : null,
      btn('rules.new', () => { editor.value = TEMPLATE; loadedFrom = ''; validate(); }));
    main.append(h('h1', {}, t('rules.title')),
      h('div', { class: 'rules-layout' }, h('div', {}, packsBox, versionsBox),
        h('section', { class: 'card' }, h('h2', {}, t('rules.editor')), field(t('rules.source'), editor, t('rules.editor_hint')), validity, toolbar)),
      out);

    let vtimer = null, vseq = 0;
    async function validate() {
      const my = ++vseq;
      validity.className = 'validity pending';
      validity.textContent = t('rules.validating');
      try {
        const r = await api('POST', '/v1/rulepacks:validate', editor.value, { type: 'application/yaml' });
        if (my !== vseq) return;
        validity.className = 'validity ok';
        validity.textContent = '✓ ' + t('rules.valid', { pack: r.pack, n: r.rules.length });
      } catch (e) {
        if (my !== vseq) return;
        validity.className = 'validity bad';
        validity.replaceChildren(h('strong', {}, '✗ ' + ((e.problem && e.problem.detail) || e.message)),
          h('ul', {}, ((e.problem && e.problem.errors) || []).map((x) => h('li', {}, h('code', {}, x.field), ' ', x.reason))));
      }
    }
    editor.addEventListener('input', () => { clearTimeout(vtimer); vtimer = setTimeout(validate, 350); });
    editor.addEventListener('keydown', (e) => {
      // Tab indents (two spaces) instead of leaving the editor; Escape then Tab leaves it.
      if (e.key === 'Tab' && !e.shiftKey && !editor.dataset.escaped) {
        e.preventDefault();
        editor.setRangeText('  ', editor.selectionStart, editor.selectionEnd, 'end');
        editor.dispatchEvent(new Event('input'));
      } else if (e.key === 'Escape') editor.dataset.escaped = '1';
      else delete editor.dataset.escaped;
    });

    function shadow() {
      const r = toggleShadow(editor.value, editor.selectionStart);
      if (!r) { say(t('rules.shadow_none'), 'error'); return; }
      editor.value = r.src;
      say(t('rules.shadow_set', { id: r.id, mode: t('rules.mode_' + r.mode) }));
      validate();
    }

    async function backtest() {
      out.replaceChildren(h('p', { class: 'muted', role: 'status' }, t('rules.bt_running')));
      try {
        const r = await api('POST', '/v1/rulepacks:backtest?days=' + days.value, editor.value, { type: 'application/yaml' });
        out.replaceChildren(backtestView(r));
      } catch (e) {
        out.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
      }
    }

    async function save(activate) {
      try {
        const q = new URLSearchParams({ activate: String(activate) });
        if (comment.value) q.set('comment', comment.value);
        const v = await api('POST', '/v1/rulepacks?' + q, editor.value, { type: 'application/yaml' });
        say(t(activate ? 'rules.saved_active' : 'rules.saved', { pack: v.name, v: v.version }));
        pack = v.name;
        await loadPacks();
        await loadVersions();
      } catch (e) { say(e.message, 'error'); }
    }

    async function open(v) {
      const pv = await api('GET', '/v1/rulepacks/' + encodeURIComponent(v.name) + '/versions/' + v.version);
      editor.value = pv.source;
      loadedFrom = pv.source;
      validate();
      say(t('rules.opened', { pack: v.name, v: v.version }));
    }

    async function loadVersions() {
      if (!pack) { versionsBox.replaceChildren(h('p', { class: 'muted' }, t('rules.pick'))); return; }
      const res = await api('GET', '/v1/rulepacks/' + encodeURIComponent(pack) + '/versions');
      versions = res.versions;
      const active = versions.find((v) => v.active);
      const picks = [];
      const diffBtn = btn('rules.diff', async () => {
        const chosen = picks.filter((c) => c.checked).map((c) => Number(c.value)).sort((a, b) => a - b);
        if (chosen.length !== 2) { say(t('rules.diff_pick2'), 'error'); return; }
        const [a, b] = await Promise.all(chosen.map((n) => api('GET', '/v1/rulepacks/' + encodeURIComponent(pack) + '/versions/' + n)));
        out.replaceChildren(diffView(a.source, b.source, 'v' + a.version, 'v' + b.version));
      }, { id: 'btn-diff' });
      versionsBox.replaceChildren(h('h2', {}, t('rules.versions_of', { pack })),
        h('table', { class: 'data' },
          h('thead', {}, h('tr', {}, ['rules.diff_col', 'rules.version', 'rules.created', 'rules.by', 'rules.comment', ''].map((k) => h('th', { scope: 'col' }, k ? t(k) : '')))),
          h('tbody', {}, versions.map((v) => {
            const cb = h('input', { type: 'checkbox', value: String(v.version), 'aria-label': t('rules.diff_choose', { v: v.version }) });
            picks.push(cb);
            return h('tr', { class: v.active ? 'current' : null },
              h('td', {}, cb),
              h('td', {}, 'v' + v.version, v.active ? h('span', { class: 'badge a-allow' }, t('rules.active')) : ''),
              h('td', {}, fmtTime(v.created_at)), h('td', {}, v.created_by || ''), h('td', {}, v.comment || ''),
              h('td', {}, btn('rules.open', () => open(v)),
                admin && !v.active ? btn(active && v.version < active.version ? 'rules.rollback' : 'rules.activate', async () => {
                  try {
                    await api('POST', '/v1/rulepacks/' + encodeURIComponent(pack) + '/versions/' + v.version + '/activate');
                    say(t('rules.activated', { pack, v: v.version }));
                    await loadPacks(); await loadVersions();
                  } catch (e) { say(e.message, 'error'); }
                }) : null));
          }))),
        h('div', { class: 'toolbar' }, diffBtn,
          admin && active ? btn('rules.deactivate', async () => {
            if (!confirm(t('rules.deactivate_confirm', { pack }))) return;
            try { await api('POST', '/v1/rulepacks/' + encodeURIComponent(pack) + '/deactivate'); say(t('rules.deactivated', { pack })); await loadPacks(); await loadVersions(); } catch (e) { say(e.message, 'error'); }
          }) : null));
      if (!editor.value && (active || versions[0])) await open(active || versions[0]);
    }

    async function loadPacks() {
      const res = await api('GET', '/v1/rulepacks');
      packsBox.replaceChildren(h('h2', {}, t('rules.packs')), h('ul', { class: 'plain' }, res.packs.map((p) => h('li', {},
        h('a', { href: '#/rules/' + encodeURIComponent(p.name), 'aria-current': p.name === pack ? 'page' : null }, p.name),
        ' ', h('small', { class: 'muted' }, p.active_version ? t('rules.active_v', { v: p.active_version, n: p.versions }) : t('rules.inactive', { n: p.versions }))))));
      if (!pack && res.packs.length) pack = res.packs[0].name;
    }
    await loadPacks();
    await loadVersions();
  },
});
