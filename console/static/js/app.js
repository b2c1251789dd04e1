// The console's core: message catalogues, the API client, the staff
// session, the router and small DOM helpers the screens share.

const LANGS = ['zh-CN', 'en'];
const catalogues = {};
let lang = localStorage.getItem('xiaobao.lang') || 'zh-CN';
if (!LANGS.includes(lang)) lang = 'zh-CN';

// t returns the message of key in the current language, with {name}
// placeholders filled from vars. A missing key shows itself, so a gap in a
// catalogue is visible (and the catalogue test fails).
export function t(key, vars) {
  let s = (catalogues[lang] && catalogues[lang][key]) ?? (catalogues['zh-CN'] && catalogues['zh-CN'][key]) ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

// tx translates a value of a known vocabulary (an action, a typology, an
// event type...), falling back to the value itself.
export function tx(prefix, value) {
  if (value === '' || value == null) return t(prefix + '._none');
  const k = prefix + '.' + value;
  const c = catalogues[lang] || {};
  return k in c ? c[k] : value;
}

export function currentLang() { return lang; }

async function loadCatalogue(l) {
  if (!catalogues[l]) {
    const r = await fetch('/console/i18n/' + l + '.json', { cache: 'no-cache' });
    catalogues[l] = await r.json();
  }
}

// translate fills the static text of the page (data-i18n attributes).
export function translate(root = document) {
  document.documentElement.lang = lang;
  for (const e of root.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of root.querySelectorAll('[data-i18n-aria]')) e.setAttribute('aria-label', t(e.dataset.i18nAria));
  for (const e of root.querySelectorAll('[data-i18n-ph]')) e.setAttribute('placeholder', t(e.dataset.i18nPh));
  document.title = t('app.title');
}

// ---- DOM helpers ----

// h builds an element: h('a', {href: '#'}, 'text', child...). Text is
// always set as text, never parsed as HTML.
export function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function field(label, input, hint) {
  const id = input.id || 'f-' + Math.random().toString(36).slice(2, 9);
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hint ? h('small', {}, hint) : null);
}

export function select(name, options, value) {
  return h('select', { name }, options.map(([v, label]) => h('option', { value: v, selected: v === value }, label)));
}

export function say(msg, kind = 'info') {
  const s = document.getElementById('status');
  s.textContent = msg;
  s.className = 'status ' + kind;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { s.textContent = ''; s.className = 'status'; }, 6000);
}

export function fmtInt(n) { return new Intl.NumberFormat(lang).format(n || 0); }
export function fmtYuan(s) {
  const v = Number(s || 0);
  return '¥' + new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(v);
}
// fmtYuanShort writes large sums the way reports do: ¥7.2万, ¥1.3亿 (or
// ¥72K in English), with the exact sum in a title.
export function fmtYuanShort(s) {
  const v = Number(s || 0);
  if (Math.abs(v) < 10000) return fmtYuan(s);
  return '¥' + new Intl.NumberFormat(lang, { notation: 'compact', maximumFractionDigits: 1 }).format(v);
}
export function fmtPct(x) { return new Intl.NumberFormat(lang, { style: 'percent', maximumFractionDigits: 1 }).format(x || 0); }
export function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s);
  return d.toLocaleString(lang, { timeZone: 'Asia/Shanghai', hour12: false });
}

export function actionBadge(a) {
  return h('span', { class: 'badge a-' + a }, tx('action', a));
}

// problemText turns an RFC 9457 problem into one line, naming each field.
export function problemText(p) {
  if (!p) return t('err.generic');
  let s = p.detail || p.title || t('err.generic');
  if (Array.isArray(p.errors) && p.errors.length) s += ' — ' + p.errors.map((e) => e.field + ': ' + e.reason).join('; ');
  return s;
}

// ---- API ----

export class APIError extends Error {
  constructor(status, problem) { super(problemText(problem)); this.status = status; this.problem = problem; }
}

export const session = {
  get token() { return sessionStorage.getItem('xiaobao.token'); },
  get user() { try { return JSON.parse(sessionStorage.getItem('xiaobao.user')); } catch { return null; } },
  set(token, user) { sessionStorage.setItem('xiaobao.token', token); sessionStorage.setItem('xiaobao.user', JSON.stringify(user)); },
  clear() { sessionStorage.removeItem('xiaobao.token'); sessionStorage.removeItem('xiaobao.user'); },
  can(scope) {
    const u = this.user;
    return !!u && (u.scopes || []).some((s) => s === scope || s === 'admin');
  },
};

// api calls the server with the staff session. body is sent as JSON unless
// it is a string (sent with opts.type).
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (session.token) headers.Authorization = 'Bearer ' + session.token;
  let payload;
  if (body !== undefined) {
    if (typeof body === 'string') { payload = body; headers['Content-Type'] = opts.type || 'text/plain'; }
    else { payload = JSON.stringify(body); headers['Content-Type'] = 'application/json'; }
  }
  const r = await fetch(path, { method, headers, body: payload, signal: opts.signal });
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (r.status === 401 && !opts.noAuthRedirect) {
    session.clear();
    route();
  }
  if (!r.ok) throw new APIError(r.status, data);
  return data;
}

// ---- features the server offers (cases arrive with their API) ----

export const features = { cases: false };

async function detectFeatures() {
  try {
    const doc = await (await fetch('/openapi.json')).json();
    features.cases = Object.keys(doc.paths || {}).some((p) => p.startsWith('/v1/cases'));
  } catch { features.cases = false; }
}

// ---- screens and the router ----

const screens = {};
export function screen(name, spec) { screens[name] = spec; }

let current = null; // {name, cleanup}

function showChrome() {
  const u = session.user;
  const nav = document.getElementById('nav');
  nav.hidden = !u;
  document.getElementById('logout').hidden = !u;
  document.getElementById('who').textContent = u ? (u.display_name || u.username) + ' · ' + (u.roles || []).map((r) => tx('role', r)).join(lang === 'en' ? ', ' : '、') : '';
  for (const li of nav.querySelectorAll('li')) {
    const feat = li.dataset.feature;
    li.hidden = !u || !session.can(li.dataset.scope) || (feat && !features[feat]);
  }
  const raw = location.hash.split('/')[1] || '';
  const hash = { decision: 'decisions', case: 'cases' }[raw] || raw;
  for (const a of nav.querySelectorAll('a')) {
    if (a.getAttribute('href') === '#/' + hash) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// firstScreen is where a user lands: the first screen of this order their
// roles open (the modules register in whatever order they load).
const LANDING = ['dashboard', 'cases', 'decisions', 'rules', 'lists', 'graph', 'service'];
function firstScreen() {
  for (const name of LANDING) {
    const sc = screens[name];
    if (sc && (!sc.scope || session.can(sc.scope)) && (!sc.feature || features[sc.feature])) return name;
  }
  return 'welcome';
}

// generation numbers the navigations: a screen whose render finishes
// after a later navigation started is cleaned up at once, or its timers
// would run on behind the screen that replaced it.
let generation = 0;

export async function route() {
  const gen = ++generation;
  if (current && current.cleanup) current.cleanup();
  current = null;
  const main = document.getElementById('main');
  main.replaceChildren();
  const status = document.getElementById('status');
  status.textContent = '';
  status.className = 'status';
  showChrome();
  if (!session.token) { renderLogin(main); return; }
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  let name = parts[0] || firstScreen();
  const sc = screens[name];
  if (!sc) { location.hash = '#/' + firstScreen(); return; }
  if (sc.scope && !session.can(sc.scope)) {
    main.append(h('h1', { tabindex: '-1' }, t('app.forbidden_title')), h('p', {}, t('app.forbidden', { scope: sc.scope })));
    return;
  }
  const cleanup = await sc.render(main, parts.slice(1));
  if (gen !== generation) {
    if (cleanup) cleanup();
    return;
  }
  current = { name, cleanup };
  translate(main);
  const h1 = main.querySelector('h1');
  if (h1) { h1.tabIndex = -1; h1.focus({ preventScroll: true }); }
}

screen('welcome', {
  render(main) {
    main.append(h('h1', {}, t('app.welcome')), h('p', {}, t('app.welcome_text')));
  },
});

function renderLogin(main) {
  const user = h('input', { name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const err = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'login card', id: 'login' },
    h('h1', {}, t('login.title')),
    h('p', { class: 'muted' }, t('login.intro')),
    field(t('login.username'), user),
    field(t('login.password'), pass),
    err,
    h('button', { type: 'submit', class: 'primary' }, t('login.submit')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    try {
      const res = await api('POST', '/v1/staff/login', { username: user.value, password: pass.value }, { noAuthRedirect: true });
      session.set(res.token, res.user);
      if (!location.hash || location.hash === '#/') location.hash = '#/' + firstScreen();
      else route();
    } catch (ex) {
      err.textContent = ex.status === 401 || ex.status === 403 ? t('login.failed') : ex.message;
    }
  });
  main.append(form);
  user.focus();
}

async function logout() {
  try { await api('POST', '/v1/staff/logout', undefined, { noAuthRedirect: true }); } catch { /* the session ends here anyway */ }
  session.clear();
  location.hash = '';
  route();
}

async function setLang(l) {
  await loadCatalogue(l);
  lang = l;
  localStorage.setItem('xiaobao.lang', l);
  document.getElementById('lang').textContent = t('app.switch');
  translate();
  route();
}

async function start() {
  await Promise.all([loadCatalogue('zh-CN'), lang !== 'zh-CN' ? loadCatalogue(lang) : null, detectFeatures()]);
  // A screen that fails to load leaves the others working.
  const mods = ['dashboard', 'decisions', 'rules', 'lists', 'graph', 'service'];
  if (features.cases) mods.push('cases');
  await Promise.all(mods.map((m) => import('./' + m + '.js').catch((e) => {
    console.error('screen ' + m + ' not loaded', e);
    if (m === 'cases') features.cases = false;
  })));
  translate();
  document.getElementById('lang').addEventListener('click', () => setLang(lang === 'zh-CN' ? 'en' : 'zh-CN'));
  document.getElementById('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  document.body.dataset.ready = '1';
  route();
}

start();
