// Lists: search block and allow list entries, add one, import many (CSV or
// NDJSON), see and set expiry, remove.
import { api, h, t, tx, field, select, fmtTime, say, screen, session } from './app.js';

const KINDS = ['account', 'phone', 'device', 'ip', 'id_number', 'customer'];

screen('lists', {
  nav: true,
  scope: 'lists:read',
  async render(main) {
    const admin = session.can('lists:admin');
    const list = select('list', [['', t('lists.both')], ['block', tx('list', 'block')], ['allow', tx('list', 'allow')]], '');
    const kind = select('kind', [['', t('dec.any')], ...KINDS.map((k) => [k, tx('kind', k)])], '');
    const value = h('input', { name: 'value' });
    const results = h('div', { id: 'list-results' });
    const search = h('form', { class: 'toolbar wrap', role: 'search', 'aria-label': t('lists.search') },
      field(t('lists.list'), list), field(t('lists.kind'), kind), field(t('lists.value'), value, t('lists.value_hint')),
      h('button', { type: 'submit', class: 'primary' }, t('lists.search')));
    main.append(h('h1', {}, t('lists.title')), search, results);

    async function load() {
      const q = new URLSearchParams({ limit: '500' });
      if (list.value) q.set('list', list.value);
      if (kind.value) q.set('kind', kind.value);
      if (value.value.trim()) q.set('value', value.value.trim());
      try {
        const res = await api('GET', '/v1/lists?' + q);
        const now = Date.now();
        results.replaceChildren(h('p', { class: 'muted' }, t('lists.found', { n: res.entries.length })),
          h('table', { class: 'data', id: 'list-table' },
            h('thead', {}, h('tr', {}, ['lists.list', 'lists.kind', 'lists.value', 'lists.reason', 'lists.source', 'lists.expires', 'lists.created', ''].map((k) => h('th', { scope: 'col' }, k ? t(k) : '')))),
            h('tbody', {}, res.entries.map((e) => {
              const expired = e.expires_at && Date.parse(e.expires_at) < now;
              return h('tr', { class: expired ? 'expired' : null },
                h('td', {}, tx('list', e.list)), h('td', {}, tx('kind', e.kind)), h('td', {}, h('code', {}, e.value)),
                h('td', {}, e.reason || ''), h('td', {}, e.source || ''),
                h('td', {}, e.expires_at ? fmtTime(e.expires_at) + (expired ? ' (' + t('lists.expired') + ')' : '') : t('lists.never')),
                h('td', {}, fmtTime(e.created_at) + (e.created_by ? ' · ' + e.created_by : '')),
                h('td', {}, admin ? h('button', {
                  type: 'button', 'aria-label': t('lists.remove_one', { v: e.value }), onclick: async () => {
                    if (!confirm(t('lists.remove_confirm', { v: e.value }))) return;
                    try { await api('DELETE', '/v1/lists/' + e.list + '/' + e.kind + '/' + encodeURIComponent(e.value)); say(t('lists.removed')); load(); } catch (ex) { say(ex.message, 'error'); }
                  },
                }, t('lists.remove')) : ''));
            }))));
      } catch (e) { results.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message)); }
    }
    search.addEventListener('submit', (e) => { e.preventDefault(); load(); });

    if (admin) {
      const aList = select('list', [['block', tx('list', 'block')], ['allow', tx('list', 'allow')]], 'block');
      const aKind = select('kind', KINDS.map((k) => [k, tx('kind', k)]), 'account');
      const aValue = h('input', { name: 'value', required: true });
      const aReason = h('input', { name: 'reason' });
      const aExpires = h('input', { name: 'expires_at', type: 'date' });
      const add = h('form', { class: 'toolbar wrap', id: 'list-add' }, field(t('lists.list'), aList), field(t('lists.kind'), aKind),
        field(t('lists.value'), aValue), field(t('lists.reason'), aReason), field(t('lists.expires'), aExpires),
        h('button', { type: 'submit', class: 'primary' }, t('lists.add')));
      add.addEventListener('submit', async (e) => {
        e.preventDefault();
        const body = { reason: aReason.value, source: 'console' };
        if (aExpires.value) body.expires_at = aExpires.value + 'T23:59:59+08:00';
        try {
          await api('PUT', '/v1/lists/' + aList.value + '/' + aKind.value + '/' + encodeURIComponent(aValue.value.trim()), body);
          say(t('lists.added'));
          aValue.value = '';
          load();
        } catch (ex) { say(ex.message, 'error'); }
      });
      const bulk = h('textarea', { name: 'import', rows: '6', class: 'code', placeholder: 'list,kind,value,reason,source,expires_at\nblock,account,6222020012345678,涉诈账户,公安通报,2027-06-30T00:00:00+08:00' });
      const fmt = select('format', [['text/csv', 'CSV'], ['application/x-ndjson', 'NDJSON']], 'text/csv');
      const imp = h('form', { id: 'list-import' }, field(t('lists.import_body'), bulk, t('lists.import_hint')),
        h('div', { class: 'toolbar' }, field(t('lists.format'), fmt), h('button', { type: 'submit' }, t('lists.import'))));
      imp.addEventListener('submit', async (e) => {
        e.preventDefault();
        try {
          const r = await api('POST', '/v1/lists:import', bulk.value, { type: fmt.value });
          say(t('lists.imported', { n: r.imported, bad: r.errors.length }), r.errors.length ? 'error' : 'info');
          if (r.errors.length) imp.append(h('ul', { class: 'error' }, r.errors.map((x) => h('li', {}, t('lists.line', { n: x.line }) + ': ' + x.errors.map((f) => f.field + ' ' + f.reason).join('; ')))));
          load();
        } catch (ex) { say(ex.message, 'error'); }
      });
      main.append(h('div', { class: 'grid2' }, h('section', { class: 'card' }, h('h2', {}, t('lists.add_title')), add),
        h('section', { class: 'card' }, h('h2', {}, t('lists.import_title')), imp)));
    }
    await load();
  },
});
