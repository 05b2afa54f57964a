// The page: builds the views once, connects to the shared stream, routes the
// board and the compare view, and handles the keyboard.

import 'uplot/dist/uPlot.min.css';
import './style.css';
import { clearVarCache, h } from './dom';
import { connectFeed, type Feed } from './feed';
import type { HubToTab } from './hub';
import { PrefStore } from './prefs';
import { Renderer, type Frame, type Phase, type View } from './render';
import { Seeder } from './seed';
import { Store } from './store';
import type { Transport } from './stream';
import { ENDPOINTS, type SymbolInfo } from './types';
import { ChartView } from './views/chart';
import { CompareView } from './views/compare';
import { ConnectionPanel } from './views/connection';
import { Heatmap, MarketHeader, Movers } from './views/market';
import { StatusView } from './views/status';
import { Tape } from './views/tape';
import { SPARK_POINTS, Watchlist } from './views/watchlist';

const store = new Store();
const prefs = new PrefStore();
const renderer = new Renderer(store);
// Each snapshot's rows get the server's last trades, so the trend column draws at once.
const seeder = new Seeder(store, { limit: SPARK_POINTS });
const params = new URLSearchParams(location.search);

// ---- theme ----------------------------------------------------------------
const savedTheme = localStorage.getItem('tickertape-theme');
let theme: 'dark' | 'light' = params.get('theme') === 'light' || savedTheme === 'light' ? 'light' : 'dark';
document.documentElement.dataset.theme = theme;

// ---- views ----------------------------------------------------------------
const phone = matchMedia('(max-width: 480px)');
const chart = new ChartView(store, {
  onInterval: (s) => prefs.set('interval', s),
  onClose: () => closeSheet(),
});
chart.setInterval(prefs.value.interval);
const tape = new Tape(store);
chart.aside.append(tape.el);
const watchlist = new Watchlist(store, {
  onSelect: (sym) => prefs.set('selected', sym),
  onOpen: (sym) => open(sym),
  onChange: ({ mine, scope, sort }) => {
    prefs.set('mine', mine);
    prefs.set('scope', scope);
    prefs.set('sort', sort);
  },
  announce: (msg) => announce(msg),
});
watchlist.request = () => renderer.schedule();
watchlist.restore(prefs.value);
const header = new MarketHeader(store);
const movers = new Movers(store, (sym) => open(sym), () => watchlist.scopeRows());

/** Shows sym in the chart and time and sales; on a phone, as a sheet over the board. */
function open(sym: string): void {
  watchlist.select(sym);
  chart.show(sym);
  tape.show(sym);
  if (phone.matches) document.body.classList.add('sheet-open');
  renderer.schedule();
}
function closeSheet(): void {
  if (!document.body.classList.contains('sheet-open')) return;
  document.body.classList.remove('sheet-open');
  watchlist.grid.focus();
}
const heatmap = new Heatmap(store);
let feed: Feed | null = null;
let transport: Transport = params.get('transport') === 'ws' || localStorage.getItem('tickertape-transport') === 'ws' ? 'ws' : 'sse';
const conn = new ConnectionPanel((t) => {
  transport = t;
  localStorage.setItem('tickertape-transport', t);
  feed?.setTransport(t);
  announce(`Switched to ${t === 'ws' ? 'WebSocket' : 'Server-Sent Events'}`);
});
conn.setTransport(transport);
const compare = new CompareView();

// ---- chrome: top bar, pause banner, help ------------------------------------
const status = new StatusView(store, () => ({ stats: conn.stats, age: performance.now() - conn.statsAt }));
const pauseBtn = h('button.tool', { type: 'button', 'aria-pressed': 'false', title: 'Pause the view (Space)', text: '❚❚ Pause' });
const themeBtn = h('button.tool', { type: 'button', title: 'Switch between dark and light (t)', 'aria-label': 'Switch theme' });
const helpBtn = h('button.tool', { type: 'button', title: 'Keyboard shortcuts (?)', text: '?', 'aria-label': 'Keyboard shortcuts' });
const navBoard = h('a.nav', { href: '/', text: 'Board' });
const navCompare = h('a.nav', { href: '/compare', text: 'Compare' });
const menuBtn = h('button.menu-btn', { type: 'button', text: '☰', 'aria-label': 'Menu', 'aria-expanded': 'false', title: 'Views, pause, theme, help' });
const banner = h('div.pause-banner', { hidden: true }); // not a live region: it counts every second; pausing is announced once
const live = h('div.sr-only', { 'aria-live': 'polite' });

const helpDialog = h(
  'dialog.help',
  { 'aria-labelledby': 'help-title' },
  h('h2', { id: 'help-title', text: 'Keyboard' }),
  h(
    'dl',
    {},
    ...[
      ['↑ ↓', 'move the selection in the watchlist'],
      ['PgUp PgDn Home End', 'jump in the watchlist'],
      ['Enter', 'show the selected symbol in the chart (on a phone, as a sheet; Esc closes it)'],
      ['s', 'star the selected row: put it on my list, or take it off (★ on the row does the same; “My list” shows only those; Add takes the symbol typed)'],
      ['/', 'search (filter the watchlist); Esc clears'],
      ['Space', 'pause or resume the view (the stream keeps running; the banner counts what changed)'],
      ['b / c', 'board / compare view'],
      ['t', 'dark or light theme'],
      ['?', 'this help; Esc closes it'],
    ].flatMap(([k, v]) => [h('dt', {}, h('kbd', { text: k })), h('dd', { text: v })]),
  ),
  h('form', { method: 'dialog' }, h('button.primary', { text: 'Close' })),
);

// On a phone the views and tools fold into one menu (☰); elsewhere they sit in the bar.
const topBar = h(
  'header.top',
  {},
  h('a.brand', { href: '/', 'aria-label': 'tickertape home' }, h('img', { src: '/favicon.svg', alt: '', width: 20, height: 20 }), h('span.brand-name', { text: 'tickertape' })),
  h('div.tools', {}, h('nav', { 'aria-label': 'Views' }, navBoard, navCompare), pauseBtn, themeBtn, helpBtn),
  header.el,
  status.pill,
  status.badge,
  menuBtn,
);

const board = h(
  'main.board',
  { id: 'board', 'aria-label': 'Market board' },
  watchlist.el,
  h('div.side', {}, chart.el, h('div.side-grid', {}, movers.el, heatmap.el, conn.el)),
);
const compareMain = h('main.compare-main', { id: 'compare', 'aria-label': 'Compare SSE and WebSocket', hidden: true }, compare.el);

document.body.append(
  topBar,
  banner,
  board,
  compareMain,
  helpDialog,
  live,
);

menuBtn.addEventListener('click', () => setMenu(!topBar.classList.contains('menu-open')));
function setMenu(on: boolean): void {
  topBar.classList.toggle('menu-open', on);
  menuBtn.setAttribute('aria-expanded', String(on));
}
// A choice in the menu closes it.
for (const el of [navBoard, navCompare, pauseBtn, themeBtn, helpBtn]) el.addEventListener('click', () => setMenu(false));

function announce(msg: string): void {
  live.textContent = msg;
}

function paintTheme(): void {
  themeBtn.textContent = theme === 'dark' ? '☀ Light' : '☾ Dark';
}
paintTheme();

function toggleTheme(): void {
  theme = theme === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = theme;
  localStorage.setItem('tickertape-theme', theme);
  clearVarCache();
  chart.retheme();
  watchlist.retheme();
  conn.retheme();
  compare.retheme();
  paintTheme();
  renderer.schedule();
}
themeBtn.addEventListener('click', toggleTheme);

function setPaused(p: boolean): void {
  store.setPaused(p);
  pauseBtn.setAttribute('aria-pressed', String(p));
  pauseBtn.textContent = p ? '▶ Resume' : '❚❚ Pause';
  document.body.classList.toggle('paused', p);
  announce(p ? 'View paused' : 'View resumed');
  renderer.schedule();
}
pauseBtn.addEventListener('click', () => setPaused(!store.paused));
helpBtn.addEventListener('click', () => helpDialog.showModal());

// The chrome that moves even while paused: the banner and the badge.
const chrome: View = {
  paint(f: Frame) {
    if (f.paused) {
      const n = store.pausedSymbols.size;
      banner.textContent = `Paused — ${store.pausedEvents.toLocaleString('en-US')} updates to ${n} symbol${n === 1 ? '' : 's'} since. Space resumes.`;
    }
    if (banner.hidden === f.paused) banner.hidden = !f.paused;
    status.paint(f);
  },
};

// Each paint's two phases, one animation frame each (render.ts): the top bar,
// the watchlist and the chart's new bars, then time and sales and the panels.
// lightweight-charts draws in an animation frame of its own after an update,
// that is with the second phase, not on top of the watchlist's frame.
// ?off=chart,conn,… leaves views out: a diagnostic for the render benchmark.
const off = new Set((params.get('off') ?? '').split(','));
const views: [string, View, Phase][] = [
  ['chrome', chrome, 'board'],
  ['header', header, 'board'],
  ['watchlist', watchlist, 'board'],
  ['chart', chart, 'board'],
  ['tape', tape, 'panels'],
  ['movers', movers, 'panels'],
  ['heatmap', heatmap, 'panels'],
  ['conn', conn, 'panels'],
  ['compare', compare, 'panels'],
];
for (const [name, v, phase] of views) if (!off.has(name)) renderer.add(v, phase);

// ---- routing ----------------------------------------------------------------
function route(): void {
  const isCompare = location.pathname.replace(/\/+$/, '') === '/compare';
  board.hidden = isCompare;
  compareMain.hidden = !isCompare;
  navBoard.toggleAttribute('aria-current', !isCompare);
  navCompare.toggleAttribute('aria-current', isCompare);
  if (isCompare) navCompare.setAttribute('aria-current', 'page');
  else navBoard.setAttribute('aria-current', 'page');
  compare.setActive(isCompare);
  document.title = isCompare ? 'tickertape · compare' : 'tickertape';
  renderer.schedule();
}
function go(path: string): void {
  if (location.pathname !== path) history.pushState(null, '', path + location.search);
  route();
}
for (const a of [navBoard, navCompare]) {
  a.addEventListener('click', (e) => {
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    go(a.getAttribute('href')!);
  });
}
addEventListener('popstate', route);

// ---- keyboard ---------------------------------------------------------------
addEventListener('keydown', (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const t = e.target as HTMLElement;
  const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
  if (helpDialog.open) return;
  if (e.key === 'Escape' && (topBar.classList.contains('menu-open') || document.body.classList.contains('sheet-open'))) {
    setMenu(false);
    closeSheet();
    return;
  }
  if (typing) return;
  const onBoard = !board.hidden;
  switch (e.key) {
    case '/':
      if (!onBoard) go('/');
      e.preventDefault();
      watchlist.filterInput.focus();
      watchlist.filterInput.select();
      return;
    case ' ':
      if (t instanceof HTMLButtonElement || t instanceof HTMLAnchorElement) return;
      e.preventDefault();
      setPaused(!store.paused);
      return;
    case '?':
      e.preventDefault();
      helpDialog.showModal();
      return;
    case 't':
      toggleTheme();
      return;
    case 's':
      if (onBoard && watchlist.selected) watchlist.toggleMine(watchlist.selected);
      return;
    case 'b':
      go('/');
      return;
    case 'c':
      go('/compare');
      return;
  }
  if (!onBoard) return;
  const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10, Home: -1e9, End: 1e9 };
  if (e.key in moves) {
    e.preventDefault();
    watchlist.move(moves[e.key]);
    if (document.activeElement === document.body) watchlist.grid.focus();
  } else if (e.key === 'Enter' && watchlist.selected && (t === document.body || t === watchlist.grid)) {
    e.preventDefault();
    open(watchlist.selected);
  }
});

// ---- data -------------------------------------------------------------------
let statsTransport: Transport | null = null;
function onHub(m: HubToTab): void {
  if (m.t === 'events') {
    const hadSymbol = chart.symbol !== null;
    store.applyAll(m.evs);
    if (!hadSymbol && store.ready && store.rows.size) {
      const saved = prefs.value.selected;
      const first = saved && store.rows.has(saved) ? saved : pickDefault();
      watchlist.select(first);
      chart.show(first);
      tape.show(first);
    }
  } else {
    conn.update(m, performance.now());
    if (m.stats.transport !== statsTransport) {
      // The shared stream changed transport (here or in another tab): remember it for the next start.
      statsTransport = m.stats.transport;
      transport = statsTransport;
    }
    renderer.schedule();
  }
}

function pickDefault(): string {
  let best: string | null = null;
  let w = -1;
  for (const r of store.rows.values()) {
    const rw = r.info?.weight ?? 0;
    if (rw > w) {
      w = rw;
      best = r.sym;
    }
  }
  return best ?? store.rows.keys().next().value!;
}

async function loadSymbols(): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(ENDPOINTS.symbols);
      if (res.ok) {
        store.setSymbols((await res.json()) as SymbolInfo[]);
        return;
      }
    } catch {
      /* the server may be restarting; try again */
    }
    await new Promise((r) => setTimeout(r, Math.min(10000, 500 * 2 ** attempt)));
  }
}

async function start(): Promise<void> {
  route();
  chart.mount();
  conn.mount();
  void loadSymbols();
  feed = await connectFeed(onHub, transport);
  document.addEventListener('visibilitychange', () => feed?.setVisible(document.visibilityState === 'visible'));
}

void start();

// For the browser tests and for curious people in the console.
Object.assign(globalThis, { tickertape: { store, renderer, seeder, watchlist, chart, tape, conn, compare, prefs } });
