// The compare view: an SSE stream and a WebSocket stream side by side, each
// with its rate and a live delivery-latency histogram; and a button that
// starts a server bench run (POST /api/bench), follows its progress events
// and shows the result at the end: latency CDFs and cost bars with whiskers
// (benchplots.ts), a verdict per figure, and the table with a tooltip on
// every row saying how it is measured.

import uPlot from 'uplot';
import { Cell, getVar, h, setText } from '../dom';
import { fmtMs, fmtRate, fmtInt } from '../format';
import { benchTable, isBenchResult, resultTable, sideName } from './result';
import { BenchPlots } from './benchplots';
import { HIST_EDGES, histogram } from '../meters';
import type { Frame, View } from '../render';
import { StreamClient, type Transport } from '../stream';
import { ENDPOINTS, type BenchAccepted, type BenchRequest, type BenchResult, type Progress } from '../types';

class Side {
  readonly el: HTMLElement;
  client: StreamClient | null = null;
  private readonly state = new Cell(h('span.state'));
  private readonly rate = new Cell(h('dd.num'));
  private readonly count = new Cell(h('dd.num'));
  private readonly p50 = new Cell(h('dd.num'));
  private readonly p99 = new Cell(h('dd.num'));
  private readonly p999 = new Cell(h('dd.num'));
  private readonly reconnects = new Cell(h('dd.num'));
  private readonly plotBox: HTMLElement;
  private plot: uPlot | null = null;
  private lastPaint = 0;

  constructor(
    readonly transport: Transport,
    title: string,
  ) {
    this.plotBox = h('div.hist-plot', { role: 'img', 'aria-label': `${title} delivery latency histogram` });
    this.el = h(
      'section.panel.cmp-side',
      { 'aria-label': `${title} stream`, 'data-transport': transport },
      h('div.panel-head', {}, h('h2', { text: title }), this.state.el),
      h(
        'dl.stats',
        {},
        h('dt', { text: 'Events/s' }),
        this.rate.el,
        h('dt', { text: 'Events' }),
        this.count.el,
        h('dt', { text: 'p50' }),
        this.p50.el,
        h('dt', { text: 'p99' }),
        this.p99.el,
        h('dt', { text: 'p99.9' }),
        this.p999.el,
        h('dt', { text: 'Reconnects' }),
        this.reconnects.el,
      ),
      h('p.muted.small', { text: 'Delivery latency histogram: arrival time in this tab minus the event\'s ts, last 4,096 events.' }),
      this.plotBox,
    );
  }

  start(): void {
    if (this.client) return;
    const c = new StreamClient({ base: location.origin, transport: this.transport });
    this.client = c;
    c.start();
    if (!this.plot) this.makePlot();
  }

  private makePlot(): void {
    const xs = HIST_EDGES.map((_, i) => i);
    this.plot = new uPlot(
      {
        width: Math.max(240, this.plotBox.clientWidth || 320),
        height: 200,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false }, y: { auto: true, range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [
          {
            stroke: getVar('--muted'),
            grid: { show: false },
            size: 24,
            font: '10px system-ui',
            splits: () => xs.filter((i) => i % 5 === 0),
            values: (_u, v) => v.map((i) => { const ms = HIST_EDGES[i]; return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`; }),
          },
          { stroke: getVar('--muted'), grid: { stroke: getVar('--grid') }, size: 40, font: '10px system-ui' },
        ],
        series: [{}, { label: 'events', stroke: getVar(this.transport === 'ws' ? '--warn' : '--accent'), fill: getVar(this.transport === 'ws' ? '--warn-a' : '--accent-a'), paths: uPlot.paths.bars!({ size: [0.9, 40] }), points: { show: false } }],
      },
      [xs, xs.map(() => 0)],
      this.plotBox,
    );
  }

  stop(): void {
    this.client?.stop();
    this.client = null;
  }

  /** The theme changed: make the histogram again with the new colours. */
  retheme(): void {
    if (!this.plot) return;
    this.plot.destroy();
    this.plot = null;
    this.makePlot();
  }

  paint(now: number): void {
    const c = this.client;
    if (!c || now - this.lastPaint < 250) return;
    this.lastPaint = now;
    const s = c.stats();
    this.state.set(s.state === 'open' ? 'live' : s.state);
    this.state.cls(`state st-${s.state}`);
    this.rate.set(fmtRate(s.eventsPerSec));
    this.count.set(fmtInt(s.events));
    this.p50.set(fmtMs(s.p50));
    this.p99.set(fmtMs(s.p99));
    this.p999.set(fmtMs(s.p999));
    this.reconnects.set(fmtInt(s.reconnects));
    if (this.plot) {
      const counts = histogram(c.latency.sorted());
      this.plot.setData([HIST_EDGES.map((_, i) => i), counts]);
    }
  }
}

export class CompareView implements View {
  readonly el: HTMLElement;
  private readonly sides: Side[];
  private active = false;

  private readonly form: HTMLFormElement;
  private readonly runBtn: HTMLButtonElement;
  private readonly bar: HTMLProgressElement;
  private readonly barText: HTMLElement;
  private readonly status: HTMLElement;
  private readonly table: HTMLElement;
  private jobEs: EventSource | null = null;
  private plots: BenchPlots | null = null;

  constructor() {
    this.sides = [new Side('sse', 'Server-Sent Events'), new Side('ws', 'WebSocket')];
    const num = (name: string, label: string, value: number, min: number, max: number) =>
      h('label', {}, `${label} `, h('input', { type: 'number', name, value, min, max, required: true }));
    const chk = (value: string, label: string) => h('label', {}, h('input', { type: 'checkbox', name: 'transports', value, checked: true }), ` ${label}`);
    this.runBtn = h('button.primary', { type: 'submit', text: 'Run server bench' });
    this.form = h(
      'form.bench-form',
      { 'aria-label': 'Bench parameters' },
      // The server's bounds (compare.MaxJobClients, MaxJobDuration, MaxJobRate);
      // it answers 400 beyond them, and to clients × rate over 500,000.
      num('clients', 'Clients per transport', 50, 1, 1000),
      num('duration', 'Duration (s)', 5, 1, 60),
      num('rate', 'Rate (events/s)', 1000, 1, 50000),
      // bench.MaxJobRuns; runs × duration at most bench.MaxJobWindow (120 s).
      num('runs', 'Runs', 3, 1, 5),
      chk('sse', 'SSE'),
      chk('ws', 'WebSocket'),
      this.runBtn,
    );
    this.bar = h('progress', { max: 100, value: 0, 'aria-label': 'Bench progress' });
    this.barText = h('span.num.bar-text', { text: '' });
    this.status = h('p.bench-status', { role: 'status' });
    this.table = h('div.bench-result');
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.runBench();
    });
    this.el = h(
      'div.compare',
      {},
      h('div.cmp-sides', {}, ...this.sides.map((s) => s.el)),
      h(
        'section.panel.bench',
        { 'aria-label': 'Server bench' },
        h('div.panel-head', {}, h('h2', { text: 'Server bench' })),
        h('p.muted', {
          text: 'Runs tickertape bench inside the server: many clients of each transport at the same market rate, measured side by side.',
        }),
        this.form,
        h('div.bar-row', {}, this.bar, this.barText),
        this.status,
        this.table,
      ),
    );
  }

  retheme(): void {
    for (const s of this.sides) s.retheme();
    this.plots?.draw();
  }

  /** Opens the two streams (the view became visible) or closes them. */
  setActive(on: boolean): void {
    this.active = on;
    for (const s of this.sides) {
      if (on) s.start();
      else s.stop();
    }
  }

  paint(f: Frame): boolean {
    if (!this.active) return false;
    for (const s of this.sides) s.paint(f.now);
    return false;
  }

  private setProgress(pct: number): void {
    this.bar.value = pct;
    this.barText.textContent = `${Math.round(pct)}%`;
  }

  async runBench(): Promise<void> {
    const fd = new FormData(this.form);
    const req: BenchRequest = {
      clients: Number(fd.get('clients')),
      duration: `${Number(fd.get('duration'))}s`,
      rate: Number(fd.get('rate')),
      runs: Number(fd.get('runs')),
      transports: fd.getAll('transports').map(String) as Transport[],
    };
    if (!req.transports.length) {
      this.status.textContent = 'Choose at least one transport.';
      return;
    }
    this.runBtn.disabled = true;
    this.plots?.destroy();
    this.plots = null;
    this.table.replaceChildren();
    this.setProgress(0);
    this.status.textContent = 'Starting…';
    let res: Response;
    try {
      res = await fetch(ENDPOINTS.bench, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(req) });
    } catch (err) {
      this.fail(`The server did not answer: ${String(err)}`);
      return;
    }
    if (res.status === 409) {
      this.fail('A bench run is already in progress on the server; try again when it ends.');
      return;
    }
    if (res.status !== 202 && !res.ok) {
      let why = `${res.status} ${res.statusText}`;
      try {
        why = ((await res.json()) as { error?: string }).error ?? why;
      } catch {
        /* not JSON */
      }
      this.fail(`The server refused the bench: ${why}`);
      return;
    }
    const { job } = (await res.json()) as BenchAccepted;
    this.status.textContent = `Job ${job} running…`;
    this.follow(String(job));
  }

  private follow(job: string): void {
    this.jobEs?.close();
    const es = new EventSource(ENDPOINTS.jobEvents(job));
    this.jobEs = es;
    es.addEventListener('progress', (e) => {
      let p: Progress;
      try {
        p = JSON.parse((e as MessageEvent).data as string) as Progress;
      } catch {
        return;
      }
      this.setProgress(Math.max(0, Math.min(100, p.completion)));
      if (p.status === 'in_progress' && p.phase) {
        // The status is a live region: it says the phase, not the ticking figures.
        const who = p.label || (p.transport === 'ws' ? 'WebSocket' : p.transport === 'sse' ? 'SSE' : p.transport);
        const run = p.runs && p.runs > 1 ? `run ${p.run}/${p.runs}` : '';
        const what = [who, run, p.phase].filter(Boolean).join(' ');
        setText(this.status, `Job ${job}: ${what}`);
        this.barText.textContent = `${Math.round(p.completion)}%${p.clients ? ` · ${p.clients} clients` : ''}${p.eventsPerSec ? ` · ${fmtRate(p.eventsPerSec)}` : ''}`;
      }
      if (p.status === 'done') {
        es.close();
        this.jobEs = null;
        this.setProgress(100);
        this.status.textContent = `Job ${job} done.`;
        this.showResult(p.result);
        this.runBtn.disabled = false;
      } else if (p.status === 'failed') {
        es.close();
        this.jobEs = null;
        this.fail(`Job ${job} failed${p.error ? `: ${p.error}` : ''}.`);
      }
    });
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        this.jobEs = null;
        this.fail(`Lost the progress stream of job ${job}.`);
      }
    };
  }

  private fail(msg: string): void {
    this.status.textContent = msg;
    this.runBtn.disabled = false;
  }

  private showResult(result: unknown): void {
    if (isBenchResult(result)) {
      this.showBench(result);
      return;
    }
    const t = resultTable(result);
    if (!t) {
      this.table.replaceChildren(h('p.muted', { text: 'The run ended without a result table.' }));
      return;
    }
    const table = h(
      'table.result',
      {},
      h('caption', { text: 'Bench result' }),
      h('thead', {}, h('tr', {}, ...t.head.map((c) => h('th', { scope: 'col', text: c })))),
      h('tbody', {}, ...t.rows.map((r) => h('tr', {}, ...r.map((c, i) => (i === 0 ? h('th', { scope: 'row', text: c }) : h('td.num', { text: c })))))),
    );
    this.table.replaceChildren(table);
  }

  /** A bench.Result: what ran where, the pictures, the verdicts, the table and the notes. */
  private showBench(r: BenchResult): void {
    const t = benchTable(r);
    const about = h('div.bench-about', { id: 'bench-caption' }, h('p.muted.small', { text: t.caption }));
    if (t.machine) about.append(h('p.muted.small.machine', { text: t.machine }));
    if (t.shared) {
      about.append(
        h(
          'p.small.shared-note',
          { title: 'The server of a dashboard run is started inside this server, beside the bench clients.' },
          h('strong', { text: '(shared process) ' }),
          'The server ran inside the same process as the bench’s clients, so its CPU and memory figures include theirs. For the server’s own figures, run tickertape bench from a shell: it starts the server as a child process.',
        ),
      );
    }
    this.plots = new BenchPlots(r);
    const verdicts = (r.verdicts ?? []).map((v) =>
      h('li', { class: v.withinNoise ? 'noise' : 'differs', 'data-figure': v.figure }, h('strong', { text: `${v.label}: ` }), v.text),
    );
    const table = h(
      'table.result',
      { 'aria-describedby': 'bench-caption' },
      h('caption', { text: 'Bench result: the median of the runs, their min–max below (hover a row for how it is measured)' }),
      h('thead', {}, h('tr', {}, ...t.head.map((c) => h('th', { scope: 'col', text: c })))),
      h(
        'tbody',
        {},
        ...t.rows.map((row) =>
          h(
            'tr',
            { title: row.how, 'data-figure': row.key },
            h('th', { scope: 'row', text: row.label }),
            ...row.cells.map((c) => h('td.num', {}, h('span.v', { text: c.value }), c.range ? h('span.range', { text: c.range }) : null)),
          ),
        ),
      ),
    );
    const notes = (r.notes ?? []).map((n) => h('li', { text: n }));
    const parts: Node[] = [about, this.plots.el];
    if (verdicts.length) {
      const others = r.transports.slice(1).map(sideName).join(', ');
      parts.push(
        h(
          'section.verdicts',
          { 'aria-label': 'Verdicts' },
          h('h3', { text: `Verdicts: ${others} against ${sideName(r.transports[0])}, within noise when the runs’ ranges overlap` }),
          h('ul', {}, ...verdicts),
        ),
      );
    }
    parts.push(table);
    if (notes.length) parts.push(h('section.bench-notes', { 'aria-label': 'Notes' }, h('h3', { text: 'Notes' }), h('ul', {}, ...notes)));
    this.table.replaceChildren(...parts);
    this.plots.draw();
  }
}
