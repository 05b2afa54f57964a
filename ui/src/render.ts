// The animation-frame loop. Events only mark things dirty (store.ts); this
// loop paints at most once per frame, however fast events arrive, and not at
// all while paused, except what a view says must move anyway (the pause
// banner, ages, fading flashes).
//
// A paint is spread over two consecutive animation frames, one phase each
// (the top bar and the watchlist, then the panels; main.ts says which view
// paints in which): each animation frame is one task on the main thread,
// its script and then the style, layout and paint of what that script
// changed, so one phase's DOM writes make one task and no task holds the
// whole board's work.

import type { Store } from './store';

/** What one frame paints from. */
export interface Frame {
  /** performance.now() at the frame. */
  now: number;
  /** Date.now() at the frame. */
  wall: number;
  /** Symbols changed since the last painted frame. */
  dirty: Set<string>;
  marketDirty: boolean;
  /** Store version: changes when rows appeared, vanished or were all replaced. */
  version: number;
  paused: boolean;
  /** More than FAST_EVENTS events a second: views that redraw canvases may do it less often. */
  fast: boolean;
}

/** A view paints from the store. It returns true when it wants another frame soon (an animation runs). */
export interface View {
  paint(f: Frame): boolean | void;
}

/**
 * Paints are spaced at least this far apart (ms): 30 a second is as fast as
 * anyone reads a ticking number, and it halves the style, layout and paint
 * work of painting at 60. Under a fast market (more than FAST_EVENTS a
 * second) 20 a second: the same board for a third less work, measured with
 * `npm run bench:render`. Flashes fade in CSS either way.
 */
export const MIN_FRAME_MS = 1000 / 30 - 2;
export const FAST_FRAME_MS = 1000 / 20 - 2;
export const FAST_EVENTS = 500;

/** The phases of a paint, in the order they paint, one animation frame each. */
export type Phase = 'board' | 'panels';
const PHASES: readonly Phase[] = ['board', 'panels'];

/** What the renderer needs of the browser (a test gives its own). */
export interface RenderEnv {
  now(): number;
  wall(): number;
  requestFrame(fn: () => void): void;
  every(ms: number, fn: () => void): void;
}

const browserEnv = (): RenderEnv => ({
  now: () => performance.now(),
  wall: () => Date.now(),
  requestFrame: (fn) => requestAnimationFrame(fn),
  every: (ms, fn) => void setInterval(fn, ms),
});

export class Renderer {
  private readonly phases: View[][] = PHASES.map(() => []);
  private scheduled = false;
  private lastFrame = -Infinity;
  private minFrame = MIN_FRAME_MS;
  private rateAt = 0;
  private rateApplied = 0;
  private lastDirty = new Set<string>();
  /** The paint under way (null when none is) and its next phase. */
  private current: Frame | null = null;
  private nextPhase = 0;
  /** Whether a paint is wanted: something changed, or a view animates. */
  private wanted = false;
  /** Paints begun (a paint is all its phases), and the time the last board phase took (ms), for the tests and the panel. */
  frames = 0;
  lastPaintMs = 0;

  constructor(
    private readonly store: Store,
    private readonly env: RenderEnv = browserEnv(),
  ) {
    store.subscribe(() => this.schedule());
    // Ages, staleness and flashes move with time, not with events.
    env.every(1000, () => this.schedule());
  }

  /** Adds a view to a phase of the paint ('board' by default). */
  add(v: View, phase: Phase = 'board'): void {
    this.phases[PHASES.indexOf(phase)].push(v);
    this.schedule();
  }

  /** Asks for a paint: the next one due, after the phases of one under way. */
  schedule(): void {
    this.wanted = true;
    this.requestFrame();
  }

  private requestFrame(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.env.requestFrame(() => this.frame());
  }

  private frame(): void {
    this.scheduled = false;
    const s = this.store;
    const t0 = this.env.now();
    if (t0 - this.rateAt >= 1000) {
      const perSec = ((s.applied - this.rateApplied) * 1000) / (t0 - this.rateAt);
      this.minFrame = perSec > FAST_EVENTS ? FAST_FRAME_MS : MIN_FRAME_MS;
      this.rateAt = t0;
      this.rateApplied = s.applied;
    }
    if (this.current) {
      // The paint under way: its next phase, in an animation frame of its
      // own, even when the next paint is due (on a busy machine frames come
      // late, and every one would be due: the phases would all land in one
      // task again). The next paint waits for the frame after.
      this.paintPhase(this.nextPhase++, { ...this.current, now: t0, wall: this.env.wall() });
      this.follow();
      return;
    }
    if (!this.wanted) return;
    if (t0 - this.lastFrame < this.minFrame) {
      this.requestFrame(); // too soon: wait for a later animation frame
      return;
    }
    this.wanted = false;
    this.lastFrame = t0;
    const paused = s.paused;
    // While paused the dirty set keeps growing, so resuming paints everything that changed.
    const dirty = paused ? this.lastDirty : s.takeDirty();
    if (paused) this.lastDirty = new Set();
    const f: Frame = { now: t0, wall: this.env.wall(), dirty, marketDirty: !paused && s.marketDirty, version: s.version, paused, fast: this.minFrame === FAST_FRAME_MS };
    if (!paused) s.marketDirty = false;
    this.paintPhase(0, f);
    this.frames++;
    this.lastPaintMs = this.env.now() - t0;
    this.current = f;
    this.nextPhase = 1;
    this.follow();
  }

  /** After a frame: a frame for the next phase of the paint under way, or for the next paint if one is wanted. */
  private follow(): void {
    while (this.current && this.nextPhase < PHASES.length && this.phases[this.nextPhase].length === 0) this.nextPhase++;
    if (this.current && this.nextPhase >= PHASES.length) this.current = null;
    if (this.current || this.wanted) this.requestFrame();
  }

  private paintPhase(i: number, f: Frame): void {
    for (const v of this.phases[i]) {
      try {
        if (v.paint(f)) this.wanted = true; // it animates: paint again soon
      } catch (err) {
        console.error('tickertape: a view failed to paint', err);
      }
    }
  }
}
