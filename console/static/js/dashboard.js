// Dashboard: the headline figures of any period with the period before,
// their trend, and the breakdowns by typology and journey node, from
// GET /v1/report/summary (pre-aggregated rollups). It refreshes itself
// every few seconds, so figures move while events stream in.
import { api, h, t, tx, field, select, fmtInt, fmtYuan, fmtYuanShort, fmtPct, screen } from './app.js';

const REFRESH_MS = 5000;

// The headline cards: key of the figure, how to format it, and whether
// higher is better (for the colour of the trend).
const CARDS = [
  ['reminders', 'int', true],
  ['friction', 'int', true],
  ['cooling_off', 'int', true],
  ['blocks', 'int', true],
  ['holds', 'int', true],
  ['dissuasion_calls', 'int', true],
  ['dissuaded', 'int', true],
  ['losses_avoided', 'yuan', true],
  ['suspected_gamblers', 'int', true],
  ['gambling_funds_stopped', 'yuan', true],
  ['false_alarm_rate', 'pct', false],
];

function fmt(kind, v) {
  if (kind === 'yuan') return fmtYuan(v);
  if (kind === 'yuan-short') return fmtYuanShort(v);
  if (kind === 'pct') return fmtPct(v);
  if (kind === 'ms') return (v || 0).toFixed(2) + ' ms';
  return fmtInt(v);
}

function trend(cur, prev, kind, good) {
  const c = Number(cur || 0), p = Number(prev || 0);
  if (p === 0 && c === 0) return h('span', { class: 'trend flat' }, '—');
  if (p === 0) return h('span', { class: 'trend new' }, t('dash.new'));
  const d = (c - p) / p;
  const up = d > 0;
  const cls = d === 0 ? 'flat' : (up === good ? 'good' : 'bad');
  const txt = (up ? '▲ ' : d < 0 ? '▼ ' : '') + fmtPct(Math.abs(d));
  return h('span', { class: 'trend ' + cls, title: t('dash.vs_previous', { v: fmt(kind, prev) }) }, txt);
}

function isoDay(d) {
  // the date in China time, YYYY-MM-DD
  return new Date(d.getTime() + 8 * 3600e3).toISOString().slice(0, 10);
}

screen('dashboard', {
  nav: true,
  scope: 'report:read',
  async render(main) {
    const today = new Date();
    const preset = select('preset', [['7', t('dash.p7')], ['30', t('dash.p30')], ['90', t('dash.p90')], ['365', t('dash.p365')], ['custom', t('dash.custom')]], '30');
    const bucket = select('bucket', [['day', t('dash.day')], ['week', t('dash.week')], ['month', t('dash.month')]], 'day');
    const from = h('input', { type: 'date', name: 'from' });
    const to = h('input', { type: 'date', name: 'to' });
    const live = h('input', { type: 'checkbox', name: 'live', checked: true });
    const setPreset = () => {
      if (preset.value === 'custom') return;
      const n = Number(preset.value);
      to.value = isoDay(today);
      from.value = isoDay(new Date(today.getTime() - (n - 1) * 86400e3));
      if (n >= 365 && bucket.value === 'day') bucket.value = 'week';
    };
    setPreset();
    const form = h('form', { class: 'toolbar', 'aria-label': t('dash.period') },
      field(t('dash.period'), preset), field(t('dash.from'), from), field(t('dash.to'), to), field(t('dash.bucket'), bucket),
      h('label', { class: 'check' }, live, ' ', t('dash.live')),
      h('button', { type: 'submit', class: 'primary' }, t('dash.show')));
    const cards = h('section', { class: 'cards', id: 'kpis', 'aria-label': t('dash.headline') });
    const meta = h('p', { class: 'muted', id: 'dash-meta' });
    const chartTrend = h('div', { class: 'chart', role: 'img', 'aria-label': t('dash.chart_trend') });
    const chartMoney = h('div', { class: 'chart', role: 'img', 'aria-label': t('dash.chart_money') });
    const chartTyp = h('div', { class: 'chart tall', role: 'img', 'aria-label': t('dash.chart_typology') });
    const chartNode = h('div', { class: 'chart tall', role: 'img', 'aria-label': t('dash.chart_node') });
    const tables = h('details', { class: 'card' }, h('summary', {}, t('dash.tables')));
    main.append(h('h1', {}, t('dash.title')), form, meta, cards,
      h('div', { class: 'grid2' },
        h('section', { class: 'card' }, h('h2', {}, t('dash.chart_trend')), chartTrend),
        h('section', { class: 'card' }, h('h2', {}, t('dash.chart_money')), chartMoney),
        h('section', { class: 'card' }, h('h2', {}, t('dash.chart_typology')), chartTyp),
        h('section', { class: 'card' }, h('h2', {}, t('dash.chart_node')), chartNode)),
      tables);

    const charts = [];
    const chart = (el) => { const c = window.echarts.init(el, null, { renderer: 'canvas' }); charts.push(c); return c; };
    const cTrend = chart(chartTrend), cMoney = chart(chartMoney), cTyp = chart(chartTyp), cNode = chart(chartNode);
    const onResize = () => charts.forEach((c) => c.resize());
    window.addEventListener('resize', onResize);

    let timer = null;
    let inflight = null;
    async function load() {
      if (inflight) inflight.abort();
      inflight = new AbortController();
      const q = new URLSearchParams({ from: from.value, to: isoDay(new Date(Date.parse(to.value) + 86400e3)), bucket: bucket.value });
      let s;
      try {
        s = await api('GET', '/v1/report/summary?' + q, undefined, { signal: inflight.signal });
      } catch (e) {
        if (e.name !== 'AbortError') meta.textContent = e.message;
        return;
      }
      draw(s);
    }
    function draw(s) {
      const T = s.totals, P = s.previous;
      meta.textContent = t('dash.meta', { days: s.days, decisions: fmtInt(T.decisions), interventions: fmtInt(T.interventions) }) +
        (s.partial ? ' ' + t('dash.partial') : '');
      cards.replaceChildren(...CARDS.map(([k, kind, good]) => h('div', { class: 'kpi', dataset: { key: k } },
        h('div', { class: 'kpi-label' }, t('fig.' + k)),
        h('div', { class: 'kpi-value', dataset: { value: String(T[k]) }, title: fmt(kind, T[k]) }, fmt(kind === 'yuan' ? 'yuan-short' : kind, T[k])),
        trend(T[k], P[k], kind, good))),
      h('div', { class: 'kpi', dataset: { key: 'latency' } },
        h('div', { class: 'kpi-label' }, t('fig.latency')),
        h('div', { class: 'kpi-value' }, fmt('ms', s.latency.p99_ms)),
        h('span', { class: 'trend flat' }, t('dash.latency_detail', { p50: fmt('ms', s.latency.p50_ms), n: fmtInt(s.latency.count) }))));
      const dates = s.series.map((p) => p.start.slice(0, 10));
      const steps = ['reminders', 'friction', 'cooling_off', 'holds', 'blocks'];
      const anim = { animation: false };
      cTrend.setOption({
        ...anim, tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 48, right: 48, top: 36, bottom: 28 },
        xAxis: { type: 'category', data: dates },
        yAxis: [{ type: 'value', name: t('dash.count') }, { type: 'value', name: 'ms', splitLine: { show: false } }],
        series: [...steps.map((k) => ({ name: t('fig.' + k), type: 'bar', stack: 'steps', data: s.series.map((p) => p[k]) })),
          { name: t('fig.latency_p99'), type: 'line', yAxisIndex: 1, data: s.series.map((p) => p.latency.p99_ms) }],
      }, true);
      cMoney.setOption({
        ...anim, tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 64, right: 48, top: 36, bottom: 28 },
        xAxis: { type: 'category', data: dates },
        yAxis: [{ type: 'value', name: '¥' }, { type: 'value', name: '%', max: 100, splitLine: { show: false } }],
        series: [
          { name: t('fig.losses_avoided'), type: 'bar', data: s.series.map((p) => Number(p.losses_avoided)) },
          { name: t('fig.gambling_funds_stopped'), type: 'bar', data: s.series.map((p) => Number(p.gambling_funds_stopped)) },
          { name: t('fig.false_alarm_rate'), type: 'line', yAxisIndex: 1, data: s.series.map((p) => +(100 * p.false_alarm_rate).toFixed(1)) },
        ],
      }, true);
      const typs = s.by_typology.filter((g) => g.key !== '' && g.interventions > 0).slice(0, 15).reverse();
      const bars = (c, groups, label) => c.setOption({
        ...anim, tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } }, legend: { top: 0 },
        grid: { left: 150, right: 24, top: 36, bottom: 24 },
        xAxis: { type: 'value' }, yAxis: { type: 'category', data: groups.map(label) },
        series: ['reminders', 'friction', 'cooling_off', 'holds', 'blocks'].map((k) => ({ name: t('fig.' + k), type: 'bar', stack: 's', data: groups.map((g) => g[k]) })),
      }, true);
      bars(cTyp, typs, (g) => tx('typology', g.key));
      bars(cNode, s.by_node.filter((g) => g.interventions > 0).reverse(), (g) => tx('node', g.key));
      tables.replaceChildren(h('summary', {}, t('dash.tables')),
        table(t('dash.by_typology'), s.by_typology, (g) => tx('typology', g.key)),
        table(t('dash.by_node'), s.by_node, (g) => tx('node', g.key)));
    }
    function table(caption, groups, label) {
      const cols = ['interventions', 'reminders', 'friction', 'cooling_off', 'holds', 'blocks', 'dissuaded', 'losses_avoided', 'false_alarm_rate'];
      return h('table', { class: 'data' }, h('caption', {}, caption),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, ''), cols.map((c) => h('th', { scope: 'col' }, t('fig.' + c))))),
        h('tbody', {}, groups.map((g) => h('tr', {}, h('th', { scope: 'row' }, label(g)),
          cols.map((c) => h('td', { class: 'num' }, c === 'losses_avoided' ? fmtYuan(g[c]) : c === 'false_alarm_rate' ? fmtPct(g[c]) : fmtInt(g[c])))))));
    }
    function schedule() {
      clearInterval(timer);
      if (live.checked) timer = setInterval(load, REFRESH_MS);
    }
    preset.addEventListener('change', () => { setPreset(); load(); });
    from.addEventListener('change', () => { preset.value = 'custom'; });
    to.addEventListener('change', () => { preset.value = 'custom'; });
    bucket.addEventListener('change', load);
    live.addEventListener('change', schedule);
    form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
    await load();
    schedule();
    return () => {
      clearInterval(timer);
      if (inflight) inflight.abort();
      window.removeEventListener('resize', onResize);
      charts.forEach((c) => c.dispose());
    };
  },
});
