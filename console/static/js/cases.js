// Cases and dissuasion: the queues, my work, every open case with its SLA
// counting down, and one case with its payments, the call script for its
// typology, the customer's timeline and the call outcome recorded.
import { api, h, t, tx, field, select, fmtInt, fmtYuan, fmtTime, actionBadge, say, screen, session, currentLang } from './app.js';

const CALL_OUTCOMES = ['dissuaded', 'insisted', 'unreachable', 'confirmed_victim', 'false_alarm'];

// countdown is an element that shows the time left to t, and "overdue"
// past it; tick() updates every countdown on the page.
function countdown(t0, closed) {
  if (!t0) return h('span', { class: 'muted' }, '—');
  return h('span', { class: 'countdown', dataset: { due: t0, closed: closed ? '1' : '' }, title: fmtTime(t0) });
}

function tick(root) {
  const now = Date.now();
  for (const el of root.querySelectorAll('.countdown')) {
    const left = Date.parse(el.dataset.due) - now;
    if (el.dataset.closed) { el.textContent = fmtTime(el.dataset.due); el.className = 'countdown'; continue; }
    const a = Math.abs(left);
    const hh = Math.floor(a / 3600e3), mm = Math.floor((a % 3600e3) / 60e3), ss = Math.floor((a % 60e3) / 1e3);
    const txt = (hh ? hh + ':' : '') + String(mm).padStart(2, '0') + ':' + String(ss).padStart(2, '0');
    el.textContent = left >= 0 ? t('cases.left', { t: txt }) : t('cases.overdue_by', { t: txt });
    el.className = 'countdown ' + (left < 0 ? 'late' : left < 15 * 60e3 ? 'soon' : 'ok');
  }
}

function startTicking(root) {
  tick(root);
  const timer = setInterval(() => tick(root), 1000);
  return () => clearInterval(timer);
}

function caseTable(cs, id) {
  return h('table', { class: 'data', id },
    h('thead', {}, h('tr', {}, ['cases.case', 'cases.customer', 'cases.typology', 'cases.state', 'cases.assignee', 'cases.at_risk', 'cases.sla', 'cases.hold'].map((k) => h('th', { scope: 'col' }, t(k))))),
    h('tbody', {}, cs.map((c) => h('tr', { class: c.overdue ? 'late' : null },
      h('td', {}, h('a', { href: '#/case/' + encodeURIComponent(c.id) }, c.id)),
      h('td', {}, c.customer_id), h('td', {}, tx('typology', c.typology)),
      h('td', {}, h('span', { class: 'badge s-' + c.state }, tx('cstate', c.state)), c.escalated ? h('span', { class: 'badge a-block' }, t('cases.escalated')) : ''),
      h('td', {}, c.assignee || h('span', { class: 'muted' }, t('cases.nobody'))),
      h('td', { class: 'num' }, fmtYuan(c.amount_at_risk)),
      h('td', {}, countdown(c.sla_due_at, c.state === 'closed')),
      h('td', {}, countdown(c.hold_expires_at, c.state === 'closed'))))));
}

screen('cases', {
  nav: true,
  scope: 'cases:read',
  feature: 'cases',
  async render(main) {
    const work = session.can('cases:work');
    const queuesBox = h('section', { class: 'card', id: 'queues' });
    const mineBox = h('section', { class: 'card', id: 'mine' });
    const allBox = h('section', { class: 'card', id: 'all-cases' });
    const queue = h('input', { name: 'queue' });
    const state = select('state', [['', t('dec.any')], ...['open', 'assigned', 'waiting', 'escalated', 'closed'].map((s) => [s, tx('cstate', s)])], '');
    const filter = h('form', { class: 'toolbar wrap', role: 'search', 'aria-label': t('cases.search') }, field(t('cases.queue'), queue), field(t('cases.state'), state),
      h('button', { type: 'submit', class: 'primary' }, t('cases.search')));
    main.append(...[h('h1', {}, t('cases.title')), queuesBox, work ? mineBox : null, h('section', {}, h('h2', {}, t('cases.all')), filter, allBox)].filter(Boolean));

    async function load() {
      try {
        const q = await api('GET', '/v1/cases/queues');
        queuesBox.replaceChildren(h('h2', {}, t('cases.queues')), h('div', { class: 'cards' }, q.queues.map((x) => h('div', { class: 'kpi' },
          h('div', { class: 'kpi-label' }, x.queue), h('div', { class: 'kpi-value' }, fmtInt(x.open)),
          h('span', { class: 'trend ' + (x.overdue ? 'bad' : 'flat') }, t('cases.queue_detail', { u: x.unassigned, o: x.overdue, m: fmtYuan(x.amount_at_risk) }))))));
      } catch (e) { queuesBox.replaceChildren(h('p', { class: 'error' }, e.message)); }
      if (work) {
        try {
          const m = await api('GET', '/v1/cases/mine');
          const next = h('button', {
            type: 'button', class: 'primary', id: 'btn-next', onclick: async () => {
              try { const c = await api('POST', '/v1/cases/next'); location.hash = '#/case/' + encodeURIComponent(c.id); } catch (e) { say(e.message, 'error'); }
            },
          }, t('cases.next'));
          mineBox.replaceChildren(h('h2', {}, t('cases.mine')), h('div', { class: 'toolbar' }, next),
            m.cases.length ? caseTable(m.cases, 'my-cases') : h('p', { class: 'muted' }, t('cases.mine_none')));
        } catch (e) { mineBox.replaceChildren(h('p', { class: 'error' }, e.message)); }
      }
      const p = new URLSearchParams({ limit: '100' });
      if (queue.value.trim()) p.set('queue', queue.value.trim());
      if (state.value) p.set('state', state.value); else p.set('open', 'true');
      try {
        const all = await api('GET', '/v1/cases?' + p);
        allBox.replaceChildren(all.cases.length ? caseTable(all.cases, 'case-list') : h('p', { class: 'muted' }, t('cases.none')));
      } catch (e) { allBox.replaceChildren(h('p', { class: 'error' }, e.message)); }
      tick(main);
    }
    filter.addEventListener('submit', (e) => { e.preventDefault(); load(); });
    await load();
    const stop = startTicking(main);
    const refresh = setInterval(load, 15000);
    return () => { stop(); clearInterval(refresh); };
  },
});

screen('case', {
  scope: 'cases:read',
  feature: 'cases',
  async render(main, args) {
    const id = args[0];
    const body = h('div', {});
    main.append(h('p', {}, h('a', { href: '#/cases' }, '← ' + t('cases.back'))), h('h1', {}, t('cases.one', { id })), body);
    const me = session.user && session.user.username;
    const work = session.can('cases:work');

    async function load() {
      let c;
      try { c = await api('GET', '/v1/cases/' + encodeURIComponent(id)); } catch (e) { body.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message)); return; }
      const open = c.state !== 'closed';
      const head = h('section', { class: 'card decision-head', id: 'case-head' },
        h('div', { class: 'big' }, h('span', { class: 'badge s-' + c.state, id: 'case-state' }, tx('cstate', c.state)), ' ', tx('typology', c.typology),
          c.resolution ? h('span', { class: 'badge a-allow', id: 'case-resolution' }, tx('resolution', c.resolution)) : ''),
        h('dl', { class: 'meta' },
          h('dt', {}, t('cases.customer')), h('dd', {}, c.customer_id, c.customer_age >= 0 ? ' · ' + t('cases.age', { n: c.customer_age }) : ''),
          h('dt', {}, t('cases.queue')), h('dd', {}, c.queue),
          h('dt', {}, t('cases.assignee')), h('dd', {}, c.assignee || t('cases.nobody')),
          h('dt', {}, t('cases.at_risk')), h('dd', {}, fmtYuan(c.amount_at_risk)),
          h('dt', {}, t('cases.sla')), h('dd', {}, countdown(c.sla_due_at, !open)),
          h('dt', {}, t('cases.hold')), h('dd', {}, countdown(c.hold_expires_at, !open)),
          h('dt', {}, t('cases.attempts')), h('dd', {}, String(c.attempts)),
          !open ? [h('dt', {}, t('fig.losses_avoided')), h('dd', {}, fmtYuan(c.amount_saved)), h('dt', {}, t('fig.losses_incurred')), h('dd', {}, fmtYuan(c.amount_lost))] : null));
      const payments = h('section', { class: 'card' }, h('h2', {}, t('cases.payments')),
        h('table', { class: 'data' }, h('thead', {}, h('tr', {}, ['dec.time', 'dec.action', 'dec.amount', 'cases.status', 'cases.hold'].map((k) => h('th', { scope: 'col' }, t(k))))),
          h('tbody', {}, c.decisions.map((d) => h('tr', {},
            h('td', {}, session.can('decisions:read') ? h('a', { href: '#/decision/' + encodeURIComponent(d.decision_id) }, fmtTime(d.occurred_at)) : fmtTime(d.occurred_at)),
            h('td', {}, actionBadge(d.action)), h('td', { class: 'num' }, fmtYuan(d.amount)), h('td', {}, tx('pstatus', d.status)),
            h('td', {}, d.status === 'held' ? countdown(d.hold_expires_at, false) : '—'))))));
      const lang = currentLang() === 'en' ? 'en' : 'zh';
      const script = c.script ? h('section', { class: 'card script', id: 'script' }, h('h2', {}, t('cases.script') + ' · ' + c.script.title[lang]),
        h('ol', {}, c.script.steps.map((s) => h('li', {}, s[lang])))) : null;
      const events = h('section', { class: 'card' }, h('h2', {}, t('cases.history')),
        h('ol', { class: 'timeline', id: 'case-events' }, (c.events || []).map((e) => h('li', {}, h('time', {}, fmtTime(e.at)), ' ', h('strong', {}, tx('cevent', e.kind)),
          e.outcome ? ' · ' + tx('call', e.outcome) : '', e.assignee ? ' · ' + e.assignee : '', e.to ? ' → ' + tx('cstate', e.to) : '', e.note ? ' · ' + e.note : '', h('small', { class: 'muted' }, ' ' + e.actor)))));

      const actions = h('section', { class: 'card', id: 'case-actions' }, h('h2', {}, t('cases.work')));
      if (work && open) {
        if (c.assignee !== me) {
          actions.append(h('button', {
            type: 'button', class: 'primary', id: 'btn-claim', onclick: async () => {
              try { await api('POST', '/v1/cases/' + encodeURIComponent(id) + '/assign', { assignee: me, request_id: 'claim-' + id + '-' + c.version }); say(t('cases.claimed')); load(); } catch (e) { say(e.message, 'error'); }
            },
          }, t('cases.claim')));
        }
        const outcome = select('outcome', CALL_OUTCOMES.map((o) => [o, tx('call', o)]), 'dissuaded');
        const note = h('input', { name: 'note' });
        const consent = h('input', { name: 'consent' });
        const consentField = field(t('cases.consent'), consent, t('cases.consent_hint'));
        consentField.hidden = true;
        outcome.addEventListener('change', () => { consentField.hidden = outcome.value !== 'insisted'; });
        const form = h('form', { class: 'toolbar wrap', id: 'call-form' }, field(t('cases.call_outcome'), outcome), field(t('dec.note'), note), consentField,
          h('button', { type: 'submit', class: 'primary' }, t('cases.record_call')));
        form.addEventListener('submit', async (e) => {
          e.preventDefault();
          const b = { outcome: outcome.value, note: note.value, request_id: 'call-' + id + '-' + c.version };
          if (outcome.value === 'insisted') b.consent = consent.value;
          try { await api('POST', '/v1/cases/' + encodeURIComponent(id) + '/calls', b); say(t('cases.call_recorded')); load(); } catch (ex) { say(ex.message, 'error'); }
        });
        actions.append(form);
      }
      if (work) {
        const note = h('input', { name: 'note', required: true });
        const f = h('form', { class: 'toolbar', id: 'note-form' }, field(t('cases.note'), note), h('button', { type: 'submit' }, t('cases.add_note')));
        f.addEventListener('submit', async (e) => {
          e.preventDefault();
          try { await api('POST', '/v1/cases/' + encodeURIComponent(id) + '/notes', { note: note.value, request_id: 'note-' + id + '-' + c.version }); load(); } catch (ex) { say(ex.message, 'error'); }
        });
        actions.append(f);
      }
      if (!actions.querySelector('form, button')) actions.append(h('p', { class: 'muted' }, open ? t('cases.readonly') : t('cases.closed')));

      const timeline = h('section', { class: 'card scroll' }, h('h2', {}, t('dec.timeline')));
      if (session.can('decisions:read')) {
        // Around the case's first payment (a back-filled history's cases
        // open long after their payments' event time).
        const at = Date.parse((c.decisions[0] && c.decisions[0].occurred_at) || c.opened_at);
        const q = new URLSearchParams({ customer_id: c.customer_id, from: new Date(at - 7 * 86400e3).toISOString(), to: new Date(at + 7 * 86400e3).toISOString(), limit: '100' });
        try {
          const res = await api('GET', '/v1/decisions?' + q);
          const ids = new Set(c.decisions.map((d) => d.decision_id));
          timeline.append(h('table', { class: 'data', id: 'case-timeline' },
            h('thead', {}, h('tr', {}, ['dec.time', 'dec.node', 'dec.action', 'dec.typology'].map((k) => h('th', { scope: 'col' }, t(k))))),
            h('tbody', {}, res.decisions.map((d) => h('tr', { class: ids.has(d.decision_id) ? 'current' : null },
              h('td', {}, h('a', { href: '#/decision/' + encodeURIComponent(d.decision_id) }, fmtTime(d.occurred_at))),
              h('td', {}, tx('node', d.event_type)), h('td', {}, actionBadge(d.action)), h('td', {}, tx('typology', d.typology)))))));
        } catch (e) { timeline.append(h('p', { class: 'error' }, e.message)); }
      }
      body.replaceChildren(...[head, h('div', { class: 'grid2' }, script || h('div'), actions), payments, h('div', { class: 'grid2' }, events, timeline)].filter(Boolean));
      tick(body);
    }
    await load();
    const stop = startTicking(main);
    return stop;
  },
});
