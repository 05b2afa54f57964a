// The browser tests' harness: builds the Go binary once, starts and stops
// servers on loopback, launches Debian's Chromium through playwright-core,
// and runs tests one after another with a closing "N passed, N failed" line.

import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const uiDir = resolve(new URL('../..', import.meta.url).pathname);
export const repoDir = resolve(uiDir, '..');
export const artifacts = join(uiDir, 'artifacts');
mkdirSync(artifacts, { recursive: true });

const tmp = mkdtempSync(join(tmpdir(), 'tickertape-e2e-'));
let binary = null;

/** Builds the server from the repo (go build -o $TMP/tickertape .) once per run. */
export function buildServer() {
  if (binary) return binary;
  const out = join(tmp, 'tickertape');
  execFileSync('go', ['build', '-o', out, '.'], { cwd: repoDir, stdio: ['ignore', 'inherit', 'inherit'] });
  binary = out;
  return out;
}

/** Starts tickertape with -addr 127.0.0.1:PORT (0 picks one) and waits for its listening line. */
export function startServer({ port = 0, args = [] } = {}) {
  const bin = buildServer();
  const proc = spawn(bin, ['-addr', `127.0.0.1:${port}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr += d;
    if (stderr.length > 20000) stderr = stderr.slice(-10000);
  });
  return new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`tickertape did not print its listening line in 20 s; stderr: ${stderr}`)), 20000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`tickertape exited with ${code} before listening; stderr: ${stderr}`));
    });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /tickertape: listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        const srv = {
          url: m[1],
          port: Number(m[2]),
          proc,
          stderr: () => stderr,
          /** SIGTERM, then wait for the exit (SIGKILL after 10 s). */
          stop() {
            return new Promise((done) => {
              if (proc.exitCode !== null || proc.signalCode !== null) return done();
              const k = setTimeout(() => proc.kill('SIGKILL'), 10000);
              proc.once('exit', () => {
                clearTimeout(k);
                done();
              });
              proc.kill('SIGTERM');
            });
          },
        };
        ok(srv);
      }
    });
  });
}

const LAUNCH_ARGS = ['--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

export async function launch() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`no browser at ${executablePath}: install Debian's (apt-get install -y chromium) or set CHROMIUM; these tests download none`);
  }
  return chromium.launch({ executablePath, args: LAUNCH_ARGS });
}

/** Opens a page that records console errors and page errors. */
export async function openPage(context, url) {
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e.message}`));
  if (url) await page.goto(url);
  return page;
}

/** Polls fn until it returns a truthy value or the time runs out. */
export async function until(what, fn, timeoutMs = 15000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

/** Reads a gauge such as tickertape_clients{transport="sse"} from /metrics. */
export async function metric(base, name, labels = '') {
  const text = await (await fetch(`${base}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    const key = line.slice(0, sp);
    if (key === `${name}${labels ? `{${labels}}` : ''}`) return Number(line.slice(sp + 1));
  }
  return 0;
}

/** Whether an endpoint exists (anything but a 404/405 JSON answer). */
export async function endpointExists(base, path, init) {
  try {
    const res = await fetch(base + path, init);
    return res.status !== 404 && res.status !== 405;
  } catch {
    return false;
  }
}

const tests = [];
const afters = [];
/** Registers a function to run after every test, passed or failed. */
export function afterEach(fn) {
  afters.push(fn);
}
/** Registers a test. skip: a function returning a reason (string) to skip, or null. */
export function test(name, fn, opts = {}) {
  tests.push({ name, fn, ...opts });
}

async function runAfters() {
  for (const fn of afters) await fn().catch((e) => console.log(`  afterEach: ${e}`));
}

export async function run() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const only = process.env.E2E_ONLY;
  for (const t of tests) {
    if (only && !only.split('|').some((o) => t.name.includes(o))) continue;
    const t0 = Date.now();
    try {
      const reason = t.skip ? await t.skip() : null;
      if (reason) {
        skipped++;
        console.log(`SKIP ${t.name}: ${reason}`);
        continue;
      }
      await Promise.race([
        t.fn(),
        new Promise((_, f) => setTimeout(() => f(new Error(`test timed out after ${t.timeout ?? 90000} ms`)), t.timeout ?? 90000)),
      ]);
      await runAfters();
      passed++;
      console.log(`PASS ${t.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    } catch (e) {
      await runAfters();
      failed++;
      console.log(`FAIL ${t.name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n  ${String(e?.stack ?? e).split('\n').slice(0, 6).join('\n  ')}`);
    }
  }
  rmSync(tmp, { recursive: true, force: true });
  console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  return failed === 0 ? 0 : 1;
}
