// The rendering benchmark: the dashboard under a fast market (-rate 2000),
// measured in the browser. It prints how busy the page's main thread was
// (CDP Performance.getMetrics TaskDuration over wall time), the longest task
// (a CDP trace of the renderer's main thread), both by the clock and by the
// thread's own CPU (on a shared machine a task's wall-clock time includes
// the time other processes held the core), and the long tasks the page
// itself saw (PerformanceObserver 'longtask', i.e. tasks over 50 ms by the
// clock). BREAKDOWN=1 adds what the main thread's time went to, and what the
// longest and the costliest task did.
//
//   npm run bench:render            (RATE=2000 SECONDS=10 by default)

import { loadavg } from 'node:os';
import { launch, openPage, startServer, until } from './harness.mjs';

// The market's pace follows its volatility (a calm spell trades at a third
// of -rate, a storm at three times it), and a fresh market starts wherever
// its seed's morning left it: seed 2 starts about as busy as -rate says
// (seed 1, the default, starts calm, near 700 quotes/s at -rate 2000).
export async function renderBench(browser, { rate = 2000, seconds = 10, seed = Number(process.env.SEED ?? 2) } = {}) {
  const server = await startServer({ args: ['-rate', String(rate), '-seed', String(seed)] });
  const ctx = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  try {
    const page = await openPage(ctx);
    await page.addInitScript(() => {
      window.__long = [];
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) window.__long.push(e.duration);
      }).observe({ type: 'longtask', buffered: true });
    });
    await page.goto(server.url + '/' + (process.env.OFF ? `?off=${process.env.OFF}` : ''));
    await until('the board to fill', async () => (await page.$$('.wl-body .wl-row:not([hidden])')).length > 20);
    await page.waitForTimeout(2000); // past start-up: the chart, the first snapshot, JIT

    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Performance.enable');
    // The CPU of all the browser's processes (the page's renderer with its compositor and raster
    // threads, the GPU process that composites, the browser, the network service): what the board
    // costs the machine, beside what one task costs its main thread.
    const sys = await browser.newBrowserCDPSession();
    const cpuAll = async () => (await sys.send('SystemInfo.getProcessInfo')).processInfo.reduce((a, p) => a + p.cpuTime, 0);
    const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));

    const trace = [];
    cdp.on('Tracing.dataCollected', (d) => trace.push(...d.value));
    const traceDone = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
    await cdp.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline', transferMode: 'ReportEvents' });

    await page.evaluate(() => (window.__long = []));
    const c0 = await cpuAll();
    const m0 = await metrics();
    const a0 = await page.evaluate(() => [window.tickertape.store.applied, window.tickertape.renderer.frames]);
    const t0 = Date.now();
    await page.waitForTimeout(seconds * 1000);
    const m1 = await metrics();
    const c1 = await cpuAll();
    const t1 = Date.now();
    await sys.detach();
    const a1 = await page.evaluate(() => [window.tickertape.store.applied, window.tickertape.renderer.frames]);
    const long = await page.evaluate(() => window.__long);
    await cdp.send('Tracing.end');
    await traceDone;

    // The renderer's main thread: the thread named CrRendererMain in the page's process.
    const mains = new Set(trace.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
    const tasks = trace.filter((e) => e.ph === 'X' && (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') && mains.has(`${e.pid}:${e.tid}`));
    // Several renderers may exist (the SharedWorker has its own thread, not CrRendererMain); take the busiest main thread.
    const byThread = new Map();
    for (const t of tasks) {
      const k = `${t.pid}:${t.tid}`;
      const v = byThread.get(k) ?? { total: 0, max: 0, n: 0, cpu: 0, maxCpu: 0 };
      v.total += t.dur / 1000;
      v.max = Math.max(v.max, t.dur / 1000);
      // tdur is the thread's own CPU time: what the page costs, without the time another process held the core.
      v.cpu += (t.tdur ?? NaN) / 1000;
      v.maxCpu = Math.max(v.maxCpu, (t.tdur ?? NaN) / 1000);
      v.n++;
      byThread.set(k, v);
    }
    const main = [...byThread.values()].sort((x, y) => y.total - x.total)[0] ?? { total: NaN, max: NaN, n: 0, cpu: NaN, maxCpu: NaN };
    const wall = (t1 - t0) / 1000;
    // Where the main thread's time went, by trace event name (nested events overlap).
    const busiest = [...byThread.entries()].sort((x, y) => y[1].total - x[1].total)[0]?.[0];
    const names = new Map();
    for (const e of trace) {
      if (e.ph !== 'X' || `${e.pid}:${e.tid}` !== busiest || !e.dur) continue;
      names.set(e.name, (names.get(e.name) ?? 0) + e.dur / 1000);
    }
    // What the longest task did (by wall-clock, and by the thread's CPU): the events in it by name (nested events overlap).
    const mainTasks = tasks.filter((t) => `${t.pid}:${t.tid}` === busiest);
    const inside = (task, time) => {
      const m = new Map();
      if (!task) return {};
      for (const e of trace) {
        if (e.ph !== 'X' || `${e.pid}:${e.tid}` !== busiest || e === task || e.ts < task.ts || e.ts + (e.dur ?? 0) > task.ts + task.dur) continue;
        m.set(e.name, (m.get(e.name) ?? 0) + (time(e) ?? 0) / 1000);
      }
      return Object.fromEntries([...m.entries()].sort((x, y) => y[1] - x[1]).slice(0, 8).map(([k, v]) => [k, +v.toFixed(1)]));
    };
    const longestBreakdown = inside([...mainTasks].sort((x, y) => y.dur - x.dur)[0], (e) => e.dur);
    const costliestBreakdown = inside([...mainTasks].sort((x, y) => (y.tdur ?? 0) - (x.tdur ?? 0))[0], (e) => e.tdur);
    // The share of tasks past 50 ms, by either clock, and the 99th percentile of the CPU a task took.
    const cpus = mainTasks.map((t) => (t.tdur ?? NaN) / 1000).sort((x, y) => x - y);
    const breakdown = Object.fromEntries([...names.entries()].sort((x, y) => y[1] - x[1]).slice(0, 14).map(([k, v]) => [k, Math.round(v)]));
    return {
      rate,
      seed,
      seconds: +wall.toFixed(1),
      eventsApplied: a1[0] - a0[0],
      eventsPerSec: Math.round((a1[0] - a0[0]) / wall),
      framesPerSec: +((a1[1] - a0[1]) / wall).toFixed(1),
      mainThreadBusyPct: +((100 * (m1.TaskDuration - m0.TaskDuration)) / wall).toFixed(1),
      scriptPct: +((100 * (m1.ScriptDuration - m0.ScriptDuration)) / wall).toFixed(1),
      layoutPct: +((100 * (m1.LayoutDuration - m0.LayoutDuration)) / wall).toFixed(1),
      traceBusyPct: +((100 * main.total) / (wall * 1000)).toFixed(1),
      traceTasks: main.n,
      cpuBusyPct: +((100 * main.cpu) / (wall * 1000)).toFixed(1),
      browserCpuPct: +((100 * (c1 - c0)) / wall).toFixed(1),
      longestTaskCpuMs: +main.maxCpu.toFixed(1),
      longestTaskMs: +main.max.toFixed(1),
      taskCpuP99Ms: cpus.length ? +cpus[Math.min(cpus.length - 1, Math.floor(cpus.length * 0.99))].toFixed(1) : NaN,
      traceTasksOver50ms: mainTasks.filter((t) => t.dur > 50000).length,
      traceTasksOver50msCpu: mainTasks.filter((t) => t.tdur > 50000).length,
      longTasksOver50ms: long.length,
      longTaskMaxMs: long.length ? Math.round(Math.max(...long)) : 0,
      heapMB: +(m1.JSHeapUsedSize / 1e6).toFixed(1),
      loadAverage: +loadavg()[0].toFixed(2),
      ...(process.env.BREAKDOWN ? { breakdownMs: breakdown, longestTaskBreakdownMs: longestBreakdown, costliestTaskBreakdownCpuMs: costliestBreakdown } : {}),
    };
  } finally {
    await ctx.close();
    await server.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const browser = await launch();
  const f = await renderBench(browser, { rate: Number(process.env.RATE ?? 2000), seconds: Number(process.env.SECONDS ?? 10) });
  console.log(JSON.stringify(f, null, 2));
  console.log(
    `render benchmark: ${f.eventsPerSec} events/s applied, ${f.framesPerSec} frames/s, main thread ${f.mainThreadBusyPct}% busy (trace ${f.traceBusyPct}%, CPU ${f.cpuBusyPct}%), the browser's processes ${f.browserCpuPct}% of a core, longest task ${f.longestTaskMs} ms (CPU ${f.longestTaskCpuMs} ms; p99 of tasks ${f.taskCpuP99Ms} ms CPU), ${f.longTasksOver50ms} tasks over 50 ms (trace: ${f.traceTasksOver50ms} by the clock, ${f.traceTasksOver50msCpu} by CPU); load average ${loadavg()[0].toFixed(2)}`,
  );
  await browser.close();
}
