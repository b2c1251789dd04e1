// Customer service (客服): the figures of a period (sessions, self-service,
// hand-offs, satisfaction, first-contact resolution, the customers'
// verdicts on answers, warnings, agents), the queues right now (refreshed
// while the screen is open), the customers' texts waiting for an FAQ
// editor, and recent sessions with their redacted transcripts.
import { api, h, t, tx, field, select, fmtInt, fmtPct, fmtTime, say, screen, session } from './app.js';

const QUEUE_REFRESH_MS = 10000;
const WARNINGS = ['scam_victim', 'complaint_risk', 'vulnerable'];
const STATUS_BADGE = { open: 's-open', queued: 's-waiting', handed_off: 's-assigned', closed: 's-closed' };

// isoDay is the date in China time, YYYY-MM-DD.
function isoDay(d) { return new Date(d.getTime() + 8 * 3600e3).toISOString().slice(0, 10); }
// dayStart is the start of a China-time day, as RFC 3339.
function dayStart(day) { return day + 'T00:00:00+08:00'; }
function nextDay(day) { return isoDay(new Date(Date.parse(dayStart(day)) + 86400e3)); }

function orDash(v, f) { return v == null ? '—' : f(v); }
function fmtCSAT(v) { return orDash(v, (x) => x.toFixed(2)); }

function warningBadge(kind) { return h('span', { class: 'badge w-' + kind }, tx('svcwarn', kind)); }

// warningType names a warning's type: a scam typology (Guard's names), an
// escalation channel or a vulnerability.
function warningType(w) {
  if (!w.type) return '';
  return w.kind === 'scam_victim' ? tx('typology', w.type) : tx('svcwtype', w.type);
}

// queueName names a queue: the default queues in the console's language,
// a firm's own by its description.
function queueName(q) {
  const n = tx('svcqueue', q.name);
  return n !== q.name ? n : q.description || q.name;
}

function kpi(key, value, raw, detail) {
  return h('div', { class: 'kpi', dataset: { key } },
    h('div', { class: 'kpi-label' }, t('svc.fig_' + key)),
    h('div', { class: 'kpi-value', dataset: { value: raw == null ? '' : String(raw) }, title: value }, value),
    h('span', { class: 'trend flat' }, detail));
}

function table(id, caption, cols, rows) {
  return h('table', { class: 'data', id },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, cols.map(([k, num]) => h('th', { scope: 'col', class: num ? 'num' : null }, k ? t(k) : '')))),
    h('tbody', {}, rows));
}

screen('service', {
  nav: true,
  scope: 'service:read',
  async render(main) {
    const admin = session.can('service:admin');

    // FAQ entries, fetched once per visit: id → promise of the entry, or
    // of {error} when it cannot be read (deleted since).
    const entries = new Map();
    function entry(id) {
      if (!entries.has(id)) {
        entries.set(id, api('GET', '/v1/service/faqs/' + encodeURIComponent(id))
          .catch((e) => ({ error: e.status === 404 ? t('svc.faq_missing') : e.message })));
      }
      return entries.get(id);
    }
    // faqCell shows an entry by its standard question; opened, its answer.
    function faqCell(id) {
      const q = h('span', {}, '…');
      const body = h('div', { class: 'faq-body' });
      entry(id).then((e) => {
        if (e.error) { q.textContent = e.error; q.className = 'muted'; return; }
        const qs = e.questions || [];
        q.textContent = qs[0] || '';
        body.replaceChildren(h('p', {}, e.answer || ''),
          qs.length > 1 ? h('p', { class: 'muted' }, t('svc.faq_similar', { n: qs.length - 1 })) : null);
      });
      return h('details', { class: 'faq' }, h('summary', {}, q, ' ', h('code', { class: 'muted' }, id)), body);
    }

    // ---- the period's figures ----
    const today = new Date();
    const preset = select('preset', [['7', t('dash.p7')], ['30', t('dash.p30')], ['90', t('dash.p90')], ['custom', t('dash.custom')]], '7');
    const from = h('input', { type: 'date', name: 'from' });
    const to = h('input', { type: 'date', name: 'to' });
    const setPreset = () => {
      if (preset.value === 'custom') return;
      to.value = isoDay(today);
      from.value = isoDay(new Date(today.getTime() - (Number(preset.value) - 1) * 86400e3));
    };
    setPreset();
    const form = h('form', { class: 'toolbar', 'aria-label': t('dash.period') },
      field(t('dash.period'), preset), field(t('dash.from'), from), field(t('dash.to'), to),
      h('button', { type: 'submit', class: 'primary' }, t('dash.show')));
    const meta = h('p', { class: 'muted', id: 'svc-meta' });
    const cards = h('section', { class: 'cards', id: 'svc-kpis', 'aria-label': t('svc.figures') });
    const warnBox = h('section', { class: 'card', id: 'svc-warnings' }, h('h2', {}, t('svc.warnings')));
    const answersBox = h('section', { class: 'card', id: 'svc-answers' }, h('h2', {}, t('svc.worst')));
    const agentsBox = h('section', { class: 'card', id: 'svc-agents' }, h('h2', {}, t('svc.agents')));

    async function loadStats() {
      if (from.value && to.value && to.value < from.value) { meta.textContent = t('svc.bad_period'); return; }
      const q = new URLSearchParams();
      if (from.value) q.set('from', dayStart(from.value));
      if (to.value) q.set('to', dayStart(nextDay(to.value)));
      let s;
      try { s = await api('GET', '/v1/service/stats?' + q); } catch (e) {
        meta.replaceChildren(h('span', { class: 'error', role: 'alert' }, e.message));
        return;
      }
      const n = s.sessions || 0;
      const share = (x) => (n ? x / n : null);
      const A = s.answers || { helpful: 0, unhelpful: 0, helpful_rate: null, worst: [] };
      meta.textContent = t('svc.meta', { from: isoDay(new Date(s.from)), to: isoDay(new Date(Date.parse(s.to) - 1)), n: fmtInt(n) });
      cards.replaceChildren(
        kpi('sessions', fmtInt(n), n, t('svc.closed_resolved', { c: fmtInt(s.closed), r: fmtInt(s.resolved) })),
        kpi('self_service', orDash(share(s.self_service), fmtPct), share(s.self_service), t('svc.self_service_n', { n: fmtInt(s.self_service) })),
        kpi('handed_off', fmtInt(s.handed_off), s.handed_off, t('svc.share', { p: orDash(share(s.handed_off), fmtPct) })),
        kpi('csat', fmtCSAT(s.csat), s.csat, t('svc.csat_n', { n: fmtInt(s.csat_count) })),
        kpi('fcr', orDash(s.fcr, fmtPct), s.fcr, t('svc.fcr_hint')),
        kpi('helpful_rate', orDash(A.helpful_rate, fmtPct), A.helpful_rate, t('svc.helpful_detail', { y: fmtInt(A.helpful), n: fmtInt(A.unhelpful) })));

      const w = s.warnings || {};
      const kinds = [...WARNINGS, ...Object.keys(w).filter((k) => !WARNINGS.includes(k))];
      warnBox.replaceChildren(h('h2', {}, t('svc.warnings')),
        table('svc-warning-table', null, [['svc.warning_kind'], ['svc.count', true]], kinds.map((k) => h('tr', { dataset: { kind: k } },
          h('th', { scope: 'row' }, warningBadge(k)), h('td', { class: 'num' }, fmtInt(w[k]))))));

      answersBox.replaceChildren(h('h2', {}, t('svc.worst')), h('p', { class: 'muted' }, t('svc.worst_hint')),
        A.worst && A.worst.length
          ? table('svc-worst', null, [['svc.faq'], ['svc.unhelpful', true], ['svc.helpful', true]], A.worst.map((x) => h('tr', {},
            h('td', {}, faqCell(x.faq_id)), h('td', { class: 'num' }, fmtInt(x.unhelpful)), h('td', { class: 'num' }, fmtInt(x.helpful)))))
          : h('p', { class: 'muted' }, t('svc.worst_none')));

      const ag = s.agents || [];
      // The statistics name agents by id; the roster gives their names.
      const names = new Map();
      if (ag.length) {
        try {
          for (const a of (await api('GET', '/v1/service/agents')).agents || []) if (a.name) names.set(a.id, a.name);
        } catch (e) { /* ids alone are still right */ }
      }
      agentsBox.replaceChildren(h('h2', {}, t('svc.agents')),
        ag.length
          ? table('svc-agent-table', null, [['svc.agent'], ['svc.sessions', true], ['svc.fig_csat', true], ['svc.fig_fcr', true]], ag.map((a) => h('tr', {},
            h('th', { scope: 'row' }, names.has(a.agent_id) ? names.get(a.agent_id) + ' ' : '', h('code', {}, a.agent_id)), h('td', { class: 'num' }, fmtInt(a.sessions)),
            h('td', { class: 'num' }, fmtCSAT(a.csat), a.csat_count ? h('small', { class: 'muted' }, ' (' + fmtInt(a.csat_count) + ')') : ''),
            h('td', { class: 'num' }, orDash(a.fcr, fmtPct)))))
          : h('p', { class: 'muted' }, t('svc.agents_none')));
    }
    preset.addEventListener('change', () => { setPreset(); loadStats(); });
    from.addEventListener('change', () => { preset.value = 'custom'; });
    to.addEventListener('change', () => { preset.value = 'custom'; });
    form.addEventListener('submit', (e) => { e.preventDefault(); loadStats(); });

    // ---- the queues right now ----
    const queuesBody = h('div', {});
    const queuesAt = h('p', { class: 'muted', id: 'svc-queues-at' });
    const queuesBox = h('section', { class: 'card', id: 'svc-queues' }, h('h2', {}, t('svc.queues')), queuesAt, queuesBody);
    let queuesReq = null;
    async function loadQueues() {
      if (queuesReq) return; // the previous refresh is still out
      queuesReq = new AbortController();
      try {
        const res = await api('GET', '/v1/service/queues', undefined, { signal: queuesReq.signal });
        const qs = res.queues || [];
        queuesAt.textContent = t('svc.queues_at', { t: fmtTime(new Date().toISOString()), s: QUEUE_REFRESH_MS / 1000 });
        queuesBody.replaceChildren(qs.length
          ? table('svc-queue-table', null,
            [['svc.queue'], ['svc.waiting', true], ['svc.online', true], ['svc.load', true], ['svc.strategy'], ['svc.overflow']],
            qs.map((q) => h('tr', { class: q.waiting > 0 && !q.agents_online ? 'late' : null, dataset: { queue: q.name } },
              h('th', { scope: 'row' }, queueName(q), ' ', h('code', { class: 'muted' }, q.name)),
              h('td', { class: 'num' + (q.waiting ? ' warn' : '') }, fmtInt(q.waiting)),
              h('td', { class: 'num' }, fmtInt(q.agents_online)),
              h('td', { class: 'num' }, fmtInt(q.load) + ' / ' + fmtInt(q.capacity)),
              h('td', {}, tx('svcstrategy', q.strategy)),
              h('td', {}, q.overflow ? tx('svcqueue', q.overflow) : '—'))))
          : h('p', { class: 'muted' }, t('svc.queues_none')));
      } catch (e) {
        if (e.name !== 'AbortError') queuesBody.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
      } finally { queuesReq = null; }
    }

    // ---- FAQ review: the customers' texts whose answer helped ----
    let status = 'pending';
    const examplesBody = h('div', {});
    const tab = (st) => h('button', { type: 'button', 'aria-pressed': String(st === status), dataset: { status: st }, onclick: () => { status = st; syncTabs(); loadExamples(); } }, t('svc.ex_' + st));
    const tabs = h('div', { class: 'seg', role: 'group', 'aria-label': t('svc.ex_show') }, tab('pending'), tab('active'));
    const syncTabs = () => { for (const b of tabs.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.status === status)); };
    const examplesBox = h('section', { class: 'card', id: 'svc-examples', dataset: { can: admin ? 'admin' : 'read' } }, h('h2', {}, t('svc.review')),
      h('p', { class: 'muted' }, t(admin ? 'svc.review_hint' : 'svc.review_readonly')), tabs, examplesBody);

    async function act(btn, method, path, done) {
      btn.disabled = true;
      try { await api(method, path); say(done); await loadExamples(); } catch (e) { say(e.message, 'error'); btn.disabled = false; }
    }
    async function loadExamples() {
      const showing = status;
      let res;
      try { res = await api('GET', '/v1/service/faq-examples?' + new URLSearchParams({ status: showing, limit: '200' })); } catch (e) {
        examplesBody.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
        return;
      }
      if (showing !== status) return; // the other tab was chosen meanwhile
      const ex = res.examples || [];
      if (!ex.length) {
        examplesBody.replaceChildren(h('p', { class: 'muted', id: 'svc-examples-none' }, t('svc.ex_none_' + showing)));
        return;
      }
      const pending = showing === 'pending';
      const cols = [['svc.ex_text'], ['svc.ex_faq'], ['svc.count', true], [pending ? 'svc.ex_first' : 'svc.ex_accepted'], pending ? null : ['svc.ex_by'], admin ? [''] : null].filter(Boolean);
      examplesBody.replaceChildren(table('svc-example-table', t('svc.ex_count_' + showing, { n: ex.length }), cols, ex.map((x) => {
        const actions = [];
        if (admin && pending) {
          const accept = h('button', {
            type: 'button', class: 'primary btn-accept', 'aria-label': t('svc.accept_one', { text: x.text }),
            onclick: () => act(accept, 'POST', '/v1/service/faq-examples/' + encodeURIComponent(x.id) + '/accept', t('svc.accepted')),
          }, t('svc.accept'));
          const reject = h('button', {
            type: 'button', class: 'btn-reject', 'aria-label': t('svc.reject_one', { text: x.text }),
            onclick: () => { if (confirm(t('svc.reject_confirm', { text: x.text }))) act(reject, 'DELETE', '/v1/service/faq-examples/' + encodeURIComponent(x.id), t('svc.rejected')); },
          }, t('svc.reject'));
          actions.push(accept, ' ', reject);
        } else if (admin) {
          const forget = h('button', {
            type: 'button', class: 'btn-forget', 'aria-label': t('svc.forget_one', { text: x.text }),
            onclick: () => { if (confirm(t('svc.forget_confirm', { text: x.text }))) act(forget, 'DELETE', '/v1/service/faq-examples/' + encodeURIComponent(x.id), t('svc.forgotten')); },
          }, t('svc.forget'));
          actions.push(forget);
        }
        return h('tr', { dataset: { id: x.id } },
          h('td', { class: 'ex-text' }, x.text),
          h('td', {}, faqCell(x.faq_id)),
          h('td', { class: 'num' }, fmtInt(x.count)),
          h('td', {}, fmtTime(pending ? x.at : x.updated_at)),
          pending ? null : h('td', {}, x.source === 'pair' ? t('svc.ex_pair', { by: x.by }) : x.by),
          admin ? h('td', { class: 'actions' }, actions) : null);
      })));
    }

    // ---- recent sessions and one transcript ----
    const sessionsBody = h('div', {});
    const transcriptBox = h('section', { class: 'card scroll', id: 'svc-transcript' },
      h('h2', {}, t('svc.transcript')), h('p', { class: 'muted' }, t('svc.transcript_pick')));
    const sessionsBox = h('section', { class: 'card', id: 'svc-sessions' }, h('h2', {}, t('svc.recent')),
      h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: () => loadSessions() }, t('svc.refresh'))), sessionsBody);
    let openID = null;

    async function loadSessions() {
      let res;
      try { res = await api('GET', '/v1/service/sessions?limit=20'); } catch (e) {
        sessionsBody.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
        return;
      }
      const ss = res.sessions || [];
      sessionsBody.replaceChildren(ss.length
        ? table('svc-session-table', null,
          [['svc.opened'], ['svc.channel'], ['svc.status'], ['svc.queue'], ['svc.warnings_col'], ['svc.fig_csat', true]],
          ss.map((s) => h('tr', { class: s.id === openID ? 'current' : null, 'aria-current': s.id === openID ? 'true' : null, dataset: { id: s.id } },
            h('td', {}, h('button', { type: 'button', class: 'linkish', 'aria-label': t('svc.open_session', { t: fmtTime(s.opened_at), id: s.id }), onclick: () => openSession(s.id) }, fmtTime(s.opened_at))),
            h('td', {}, tx('svcchannel', s.channel)),
            h('td', {}, h('span', { class: 'badge ' + (STATUS_BADGE[s.status] || '') }, tx('svcstatus', s.status))),
            h('td', {}, s.queue ? tx('svcqueue', s.queue) : '—'),
            h('td', {}, (s.warnings || []).map(warningBadge)),
            h('td', { class: 'num' }, s.csat ? String(s.csat) : '—'))))
        : h('p', { class: 'muted' }, t('svc.sessions_none')));
    }

    async function openSession(id) {
      openID = id;
      for (const tr of sessionsBody.querySelectorAll('tbody tr')) {
        const on = tr.dataset.id === id;
        tr.classList.toggle('current', on);
        if (on) tr.setAttribute('aria-current', 'true'); else tr.removeAttribute('aria-current');
      }
      let s;
      try { s = await api('GET', '/v1/service/sessions/' + encodeURIComponent(id)); } catch (e) {
        transcriptBox.replaceChildren(h('h2', {}, t('svc.transcript')), h('p', { class: 'error', role: 'alert' }, e.message));
        return;
      }
      if (openID !== id) return;
      const head = h('h2', { tabindex: '-1' }, t('svc.transcript_of', { id: s.id }));
      transcriptBox.replaceChildren(head,
        h('dl', { class: 'meta' },
          h('dt', {}, t('svc.customer')), h('dd', {}, s.customer_id || '—'),
          h('dt', {}, t('svc.channel')), h('dd', {}, tx('svcchannel', s.channel)),
          h('dt', {}, t('svc.status')), h('dd', {}, tx('svcstatus', s.status), s.resolved ? ' · ' + t('svc.resolved') : ''),
          h('dt', {}, t('svc.queue')), h('dd', {}, s.queue ? tx('svcqueue', s.queue) : '—', s.route_reason ? h('small', { class: 'muted' }, ' ' + s.route_reason) : ''),
          s.agent_id ? [h('dt', {}, t('svc.agent')), h('dd', {}, s.agent_id)] : null,
          h('dt', {}, t('svc.fig_csat')), h('dd', {}, s.csat ? String(s.csat) + ' / 5' : '—', s.csat_comment ? ' · ' + s.csat_comment : '')),
        h('p', { class: 'muted' }, t('svc.redacted')),
        (s.transcript || []).length
          ? h('ol', { class: 'timeline transcript', id: 'svc-turns' }, s.transcript.map((x) => h('li', { class: 'turn r-' + x.role },
            h('time', {}, fmtTime(x.at)), ' ', h('strong', {}, tx('svcrole', x.role)), x.agent_id ? ' · ' + x.agent_id : '',
            h('div', { class: 'turn-text' }, x.text || ''),
            x.faq_id ? h('div', { class: 'muted' }, t('svc.answer_from') + ' ', h('code', {}, x.faq_id)) : null,
            (x.warnings || []).map((w) => h('div', { class: 'turn-warning' }, warningBadge(w.kind), ' ', warningType(w), w.detail ? ' · ' + w.detail : '')))))
          : h('p', { class: 'muted' }, t('svc.transcript_empty')));
      head.focus({ preventScroll: false });
    }

    main.append(h('h1', {}, t('svc.title')), form, meta, cards,
      h('div', { class: 'grid2' }, warnBox, answersBox),
      h('div', { class: 'grid2' }, agentsBox, queuesBox),
      examplesBox,
      h('div', { class: 'grid2 wide-left' }, sessionsBox, transcriptBox));
    await Promise.all([loadStats(), loadQueues(), loadExamples(), loadSessions()]);
    // The refresh stops with the screen, and also if the screen was
    // replaced without being left (two quick hash changes).
    const timer = setInterval(() => { if (queuesBox.isConnected) loadQueues(); else clearInterval(timer); }, QUEUE_REFRESH_MS);
    return () => {
      clearInterval(timer);
      if (queuesReq) queuesReq.abort();
    };
  },
});
