// Decisions: search stored decisions, and one decision with its whole
// explanation (rules fired with their feature values, model
// contributions, the ladder, an escalation shown first), the event as
// received (masked unless unmasked with a reason), its outcome and the
// customer's timeline around it.
import { api, h, t, tx, field, select, fmtTime, fmtYuan, actionBadge, say, screen, session } from './app.js';

const ACTIONS = ['allow', 'remind', 'friction', 'cooling_off', 'hold', 'block'];
const TYPES = ['login', 'device_change', 'phone_change', 'payee_add', 'transfer', 'withdrawal', 'loan_apply', 'loan_payout', 'repayment', 'card_bind', 'profile_change', 'payment'];
const OUTCOMES = ['confirmed_fraud', 'false_alarm', 'customer_dissuaded', 'customer_proceeded'];

// toRFC3339 turns a datetime-local value (China time) into RFC 3339.
function toRFC3339(v) { return v ? v + ':00+08:00' : ''; }

let lastQuery = '';

function decisionTable(ds, current) {
  return h('table', { class: 'data', id: 'decision-list' },
    h('thead', {}, h('tr', {}, ['dec.time', 'dec.customer', 'dec.node', 'dec.action', 'dec.typology', 'dec.score'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, ds.map((d) => h('tr', { class: d.decision_id === current ? 'current' : null, 'aria-current': d.decision_id === current ? 'true' : null },
      h('td', {}, h('a', { href: '#/decision/' + encodeURIComponent(d.decision_id) }, fmtTime(d.occurred_at))),
      h('td', {}, d.customer_id), h('td', {}, tx('node', d.event_type)), h('td', {}, actionBadge(d.action)),
      h('td', {}, tx('typology', d.typology)), h('td', { class: 'num' }, (d.score || 0).toFixed(2))))));
}

screen('decisions', {
  nav: true,
  scope: 'decisions:read',
  async render(main, args) {
    const params = new URLSearchParams(args[0] || lastQuery);
    const inp = (name, type = 'text') => h('input', { name, type, value: params.get(name) || '' });
    const customer = inp('customer_id'), account = inp('account'), device = inp('device_id');
    const from = h('input', { name: 'from', type: 'datetime-local', value: (params.get('from') || '').slice(0, 16) });
    const to = h('input', { name: 'to', type: 'datetime-local', value: (params.get('to') || '').slice(0, 16) });
    const action = select('action', [['', t('dec.any')], ...ACTIONS.map((a) => [a, tx('action', a)])], params.get('action') || '');
    const minAction = select('min_action', [['', t('dec.any')], ...ACTIONS.map((a) => [a, tx('action', a)])], params.get('min_action') || '');
    const typology = inp('typology');
    const type = select('type', [['', t('dec.any')], ...TYPES.map((a) => [a, tx('node', a)])], params.get('type') || '');
    const results = h('div', { id: 'results' });
    const form = h('form', { class: 'toolbar wrap', role: 'search', 'aria-label': t('dec.search') },
      field(t('dec.customer'), customer), field(t('dec.account'), account), field(t('dec.device'), device),
      field(t('dec.from'), from), field(t('dec.to'), to), field(t('dec.action'), action), field(t('dec.min_action'), minAction),
      field(t('dec.typology'), typology), field(t('dec.node'), type),
      h('button', { type: 'submit', class: 'primary' }, t('dec.search')));
    main.append(h('h1', {}, t('dec.title')), form, results);

    async function search(before) {
      const q = new URLSearchParams();
      for (const [k, el] of Object.entries({ customer_id: customer, account, device_id: device, action, min_action: minAction, typology, type })) {
        if (el.value.trim()) q.set(k, el.value.trim());
      }
      if (from.value) q.set('from', toRFC3339(from.value));
      if (to.value) q.set('to', toRFC3339(to.value));
      q.set('limit', '50');
      lastQuery = q.toString();
      if (before) q.set('before_seq', before);
      try {
        const res = await api('GET', '/v1/decisions?' + q);
        const table = decisionTable(res.decisions, null);
        const more = res.next_before_seq ? h('button', { type: 'button', onclick: () => search(res.next_before_seq) }, t('dec.more')) : null;
        results.replaceChildren(h('p', { class: 'muted' }, t('dec.found', { n: res.decisions.length })), table, more);
      } catch (e) {
        results.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
      }
    }
    form.addEventListener('submit', (e) => { e.preventDefault(); search(); });
    await search();
  },
});

function kv(values) {
  if (!values) return '';
  return h('ul', { class: 'kv' }, Object.entries(values).map(([k, v]) => h('li', {}, h('code', {}, k), ' = ', h('strong', {}, typeof v === 'object' ? JSON.stringify(v) : String(v)))));
}

function eventView(ev) {
  if (!ev) return h('p', { class: 'muted' }, t('dec.no_event'));
  return h('pre', { class: 'json', id: 'event-json' }, JSON.stringify(ev, null, 2));
}

screen('decision', {
  scope: 'decisions:read',
  async render(main, args) {
    const id = args[0];
    let d;
    try {
      d = await api('GET', '/v1/decisions/' + encodeURIComponent(id));
    } catch (e) {
      main.append(h('h1', {}, t('dec.one')), h('p', { class: 'error', role: 'alert' }, e.message));
      return;
    }
    const x = d.explanation || {};
    const back = h('p', {}, h('a', { href: '#/decisions' }, '← ' + t('dec.back')));
    const head = h('section', { class: 'card decision-head' },
      h('div', { class: 'big' }, actionBadge(d.action), ' ', tx('typology', d.typology)),
      h('dl', { class: 'meta' },
        h('dt', {}, t('dec.id')), h('dd', {}, h('code', {}, d.decision_id)),
        h('dt', {}, t('dec.time')), h('dd', {}, fmtTime(d.occurred_at)),
        h('dt', {}, t('dec.customer')), h('dd', {}, d.customer_id),
        h('dt', {}, t('dec.node')), h('dd', {}, tx('node', d.event_type)),
        h('dt', {}, t('dec.score')), h('dd', {}, (d.score || 0).toFixed(3)),
        d.event && d.event.amount ? [h('dt', {}, t('dec.amount')), h('dd', {}, fmtYuan(d.event.amount))] : null,
        d.cooling_off_minutes ? [h('dt', {}, t('dec.cooling')), h('dd', {}, t('dec.minutes', { n: d.cooling_off_minutes }))] : null,
        d.hold_minutes ? [h('dt', {}, t('dec.hold')), h('dd', {}, t('dec.minutes', { n: d.hold_minutes }))] : null));
    const escalation = x.escalation ? h('div', { class: 'escalation', role: 'note', id: 'escalation' },
      h('strong', {}, '⚠ ' + t('dec.escalation') + ' '), x.escalation) : null;
    const cap = x.cap ? h('div', { class: 'note' }, h('strong', {}, t('dec.cap') + ' '), x.cap) : null;
    const reasons = h('section', { class: 'card' }, h('h2', {}, t('dec.reasons')),
      (d.reasons || []).length === 0 ? h('p', { class: 'muted' }, t('dec.no_reasons')) :
        h('table', { class: 'data', id: 'reasons' },
          h('thead', {}, h('tr', {}, ['dec.rule', 'dec.detail', 'dec.action', 'dec.score', 'dec.values'].map((k) => h('th', { scope: 'col' }, t(k))))),
          h('tbody', {}, d.reasons.map((r) => h('tr', {},
            h('td', {}, h('code', {}, r.rule), h('br'), h('small', {}, tx('typology', r.typology))),
            h('td', {}, r.detail), h('td', {}, actionBadge(r.action)), h('td', { class: 'num' }, (r.score || 0).toFixed(2)),
            h('td', {}, kv(r.values)))))),
      (d.shadow || []).length ? h('div', {}, h('h3', {}, t('dec.shadow')), h('ul', {}, d.shadow.map((r) => h('li', {}, h('code', {}, r.rule), ' — ', r.detail, ' ', kv(r.values))))) : null);
    const ladder = h('section', { class: 'card' }, h('h2', {}, t('dec.ladder')),
      h('dl', { class: 'meta' },
        h('dt', {}, t('dec.rule_score')), h('dd', {}, (x.rule_score || 0).toFixed(3)),
        h('dt', {}, t('dec.rule_action')), h('dd', {}, actionBadge(x.rule_action || 'allow')),
        h('dt', {}, t('dec.score_action')), h('dd', {}, actionBadge(x.score_action || 'allow')),
        x.model ? [h('dt', {}, t('dec.model')), h('dd', {}, x.model + ' · ' + (x.model_score ?? 0).toFixed(3))] : null,
        x.pack_versions ? [h('dt', {}, t('dec.packs')), h('dd', {}, Object.entries(x.pack_versions).map(([p, v]) => p + ' v' + v).join(', '))] : null),
      (x.steps || []).length ? h('ol', { class: 'steps' }, x.steps.map((s) => h('li', {}, s))) : null,
      (x.contributions || []).length ? h('table', { class: 'data' }, h('caption', {}, t('dec.contributions')),
        h('thead', {}, h('tr', {}, ['dec.feature', 'dec.value', 'dec.effect'].map((k) => h('th', { scope: 'col' }, t(k))))),
        h('tbody', {}, x.contributions.map((c) => h('tr', {}, h('td', {}, h('code', {}, c.feature)), h('td', { class: 'num' }, String(c.value)),
          h('td', { class: 'num ' + (c.effect > 0 ? 'up' : 'down') }, (c.effect > 0 ? '+' : '') + c.effect.toFixed(3)))))) : null);
    const message = d.message ? h('section', { class: 'card' }, h('h2', {}, t('dec.message')), h('p', { lang: 'zh-CN' }, d.message.zh), h('p', { lang: 'en' }, d.message.en)) : null;

    const evBox = h('div', {}, eventView(d.event));
    const eventCard = h('section', { class: 'card' }, h('h2', {}, t('dec.event')), h('p', { class: 'muted' }, t('dec.masked')), evBox);
    if (session.can('pii:unmask')) {
      const reason = h('input', { name: 'reason', required: true, minlength: '4' });
      const f = h('form', { class: 'toolbar', id: 'unmask' }, field(t('dec.unmask_reason'), reason), h('button', { type: 'submit' }, t('dec.unmask')));
      f.addEventListener('submit', async (e) => {
        e.preventDefault();
        try {
          const u = await api('POST', '/v1/decisions/' + encodeURIComponent(id) + '/unmask', { reason: reason.value });
          evBox.replaceChildren(h('p', { class: 'warn' }, t('dec.unmasked')), eventView(u.event));
          f.remove();
        } catch (ex) { say(ex.message, 'error'); }
      });
      eventCard.append(f);
    }

    const outcomeBox = h('div', {});
    const outcomeCard = h('section', { class: 'card' }, h('h2', {}, t('dec.outcome')), outcomeBox);
    async function loadOutcome() {
      try {
        const o = await api('GET', '/v1/decisions/' + encodeURIComponent(id) + '/outcome');
        outcomeBox.replaceChildren(h('p', { id: 'outcome-now', dataset: { outcome: o.outcome } }, h('strong', {}, tx('outcome', o.outcome)), ' · ', fmtTime(o.recorded_at),
          Number(o.amount_saved) ? ' · ' + t('fig.losses_avoided') + ' ' + fmtYuan(o.amount_saved) : '',
          Number(o.amount_lost) ? ' · ' + t('fig.losses_incurred') + ' ' + fmtYuan(o.amount_lost) : '', o.note ? ' · ' + o.note : ''));
      } catch (e) {
        outcomeBox.replaceChildren(h('p', { class: 'muted', id: 'outcome-now' }, e.status === 404 ? t('dec.no_outcome') : e.message));
      }
    }
    await loadOutcome();
    if (session.can('outcomes:write')) {
      const kind = select('outcome', OUTCOMES.map((o) => [o, tx('outcome', o)]), 'customer_dissuaded');
      const saved = h('input', { name: 'amount_saved', inputmode: 'decimal', value: d.event && d.event.amount ? d.event.amount : '0.00' });
      const note = h('input', { name: 'note' });
      const f = h('form', { class: 'toolbar wrap', id: 'outcome-form' }, field(t('dec.outcome_kind'), kind), field(t('dec.amount_saved'), saved), field(t('dec.note'), note),
        h('button', { type: 'submit', class: 'primary' }, t('dec.record')));
      f.addEventListener('submit', async (e) => {
        e.preventDefault();
        const body = { outcome: kind.value, source: 'console', note: note.value };
        if (kind.value === 'confirmed_fraud' || kind.value === 'customer_proceeded') body.amount_lost = saved.value; else body.amount_saved = saved.value;
        if (kind.value === 'false_alarm') delete body.amount_saved;
        try { await api('POST', '/v1/decisions/' + encodeURIComponent(id) + '/outcome', body); say(t('dec.recorded')); await loadOutcome(); } catch (ex) { say(ex.message, 'error'); }
      });
      outcomeCard.append(f);
    }

    // The customer's timeline: a week either side.
    const at = Date.parse(d.occurred_at);
    const q = new URLSearchParams({ customer_id: d.customer_id, from: new Date(at - 7 * 86400e3).toISOString(), to: new Date(at + 7 * 86400e3).toISOString(), limit: '100' });
    const timeline = h('section', { class: 'card scroll' }, h('h2', {}, t('dec.timeline')));
    try {
      const res = await api('GET', '/v1/decisions?' + q);
      timeline.append(decisionTable(res.decisions, d.decision_id));
    } catch (e) { timeline.append(h('p', { class: 'error' }, e.message)); }
    const graphLink = session.can('graph:read') ? h('p', {}, h('a', { href: '#/graph/customer/' + encodeURIComponent(d.customer_id) }, t('dec.see_graph'))) : null;

    main.append(...[back, h('h1', {}, t('dec.one')), escalation, h('div', { class: 'grid2' }, head, ladder), cap,
      reasons, message, h('div', { class: 'grid2' }, eventCard, outcomeCard), timeline, graphLink].filter(Boolean));
  },
});
