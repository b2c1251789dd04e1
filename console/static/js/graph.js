// Graph: the entities linked to an account, customer, device, phone or IP,
// drawn with ECharts' graph series, and the paths that link them.
import { api, h, t, tx, field, select, fmtInt, fmtTime, screen } from './app.js';

const KINDS = ['account', 'customer', 'device', 'phone', 'ip', 'id_hash'];
const COLORS = { customer: '#2f6fdf', account: '#d9480f', device: '#5c940d', ip: '#7048e8', phone: '#c2255c', id_hash: '#495057' };

function key(r) { return r.kind + ':' + r.value; }

screen('graph', {
  nav: true,
  scope: 'graph:read',
  async render(main, args) {
    const kind = select('kind', KINDS.map((k) => [k, tx('kind', k)]), args[0] || 'customer');
    const value = h('input', { name: 'value', required: true, value: args[1] || '' });
    const hops = select('hops', [['1', '1'], ['2', '2'], ['3', '3']], '2');
    const form = h('form', { class: 'toolbar wrap', role: 'search', 'aria-label': t('graph.search') },
      field(t('graph.kind'), kind), field(t('graph.value'), value), field(t('graph.hops'), hops),
      h('button', { type: 'submit', class: 'primary' }, t('graph.show')));
    const chartEl = h('div', { class: 'chart graph', id: 'graph-chart', role: 'img', 'aria-label': t('graph.chart') });
    const info = h('div', { id: 'graph-info' });
    main.append(h('h1', {}, t('graph.title')), form, h('div', { class: 'grid2 wide-left' }, h('section', { class: 'card' }, chartEl), h('section', { class: 'card' }, info)));
    const chart = window.echarts.init(chartEl);
    const onResize = () => chart.resize();
    window.addEventListener('resize', onResize);

    async function load() {
      if (!value.value.trim()) { info.replaceChildren(h('p', { class: 'muted' }, t('graph.intro'))); chart.clear(); return; }
      const q = new URLSearchParams({ kind: kind.value, value: value.value.trim(), hops: hops.value, limit: '150' });
      let nb;
      try { nb = await api('GET', '/v1/graph/neighbourhood?' + q); } catch (e) { info.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message)); chart.clear(); return; }
      const nodes = new Map();
      const links = new Map();
      const addNode = (r, dist, extra = {}) => {
        const k = key(r);
        if (!nodes.has(k)) nodes.set(k, { id: k, name: r.value, value: dist, category: KINDS.indexOf(r.kind), symbolSize: dist === 0 ? 34 : 22 - 4 * Math.min(dist, 3), ...extra });
      };
      addNode(nb.origin, 0);
      for (const re of nb.reached) {
        addNode(re.entity, re.distance, re.label ? { itemStyle: { borderColor: '#e03131', borderWidth: 3 } } : {});
        for (const p of re.paths) for (const s of p) {
          addNode(s.from, 9); addNode(s.to, 9);
          const lk = key(s.from) + '→' + key(s.to);
          if (!links.has(lk)) links.set(lk, { source: key(s.from), target: key(s.to), value: s.count, label: { show: false, formatter: s.links.join(',') }, links: s.links });
        }
      }
      chart.setOption({
        animation: false,
        tooltip: { formatter: (p) => p.dataType === 'edge' ? (p.data.links || []).join(', ') + ' ×' + p.data.value : tx('kind', KINDS[p.data.category]) + ' ' + p.data.name },
        legend: { data: KINDS.map((k) => tx('kind', k)), top: 0 },
        series: [{
          type: 'graph', layout: 'force', roam: true, draggable: true, label: { show: true, position: 'right', fontSize: 10 },
          force: { repulsion: 140, edgeLength: 70 },
          categories: KINDS.map((k) => ({ name: tx('kind', k), itemStyle: { color: COLORS[k] } })),
          data: [...nodes.values()], links: [...links.values()], lineStyle: { opacity: 0.7, width: 1.5 },
        }],
      }, true);
      info.replaceChildren(...[h('h2', {}, t('graph.reached', { n: fmtInt(nb.reached.length) })),
        nb.truncated ? h('p', { class: 'warn' }, t('graph.truncated')) : null,
        (nb.capped || []).length ? h('p', { class: 'muted' }, t('graph.capped') + ' ' + nb.capped.join('; ')) : null,
        h('ol', { class: 'paths', id: 'graph-paths' }, nb.reached.slice(0, 60).map((re) => h('li', {},
          h('strong', {}, tx('kind', re.entity.kind) + ' ' + re.entity.value), re.label ? h('span', { class: 'badge a-block' }, tx('label', re.label)) : '',
          re.hub ? h('span', { class: 'badge' }, t('graph.hub')) : '',
          ' · ' + t('graph.distance', { n: re.distance }),
          h('ul', {}, re.paths.map((p) => h('li', {}, p.map((s, i) => [i === 0 ? s.from.value : '', ' —', s.links.join('/'), ' ×' + s.count, '→ ', s.to.value]).flat(),
            p.length ? h('small', { class: 'muted' }, ' (' + fmtTime(p[p.length - 1].last) + ')') : ''))))))].filter(Boolean));
    }
    chart.on('dblclick', (p) => {
      if (p.dataType !== 'node') return;
      const [k, ...v] = p.data.id.split(':');
      kind.value = k; value.value = v.join(':');
      load();
    });
    form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
    await load();
    return () => { window.removeEventListener('resize', onResize); chart.dispose(); };
  },
});
