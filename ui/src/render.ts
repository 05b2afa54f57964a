// The animation-frame loop. Events only mark things dirty (store.ts); this
// loop paints at most once per frame, however fast events arrive, and not at
// all while paused, except what a view says must move anyway (the pause
// banner, ages, fading flashes).

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

export class Renderer {
  private readonly views: View[] = [];
  private scheduled = false;
  private lastFrame = -Infinity;
  private minFrame = MIN_FRAME_MS;
  private rateAt = 0;
  private rateApplied = 0;
  private lastDirty = new Set<string>();
  /** Frames painted, and the time the last paint took (ms), for the tests and the panel. */
  frames = 0;
  lastPaintMs = 0;

  constructor(private readonly store: Store) {
    store.subscribe(() => this.schedule());
    // Ages, staleness and flashes move with time, not with events.
    setInterval(() => this.schedule(), 1000);
  }

  add(v: View): void {
    this.views.push(v);
    this.schedule();
  }

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => this.frame());
  }

  private frame(): void {
    this.scheduled = false;
    const s = this.store;
    const t0 = performance.now();
    if (t0 - this.rateAt >= 1000) {
      const perSec = ((s.applied - this.rateApplied) * 1000) / (t0 - this.rateAt);
      this.minFrame = perSec > FAST_EVENTS ? FAST_FRAME_MS : MIN_FRAME_MS;
      this.rateAt = t0;
      this.rateApplied = s.applied;
    }
    if (t0 - this.lastFrame < this.minFrame) {
      this.schedule(); // too soon: wait for a later animation frame
      return;
    }
    this.lastFrame = t0;
    const paused = s.paused;
    // While paused the dirty set keeps growing, so resuming paints everything that changed.
    const dirty = paused ? this.lastDirty : s.takeDirty();
    if (paused) this.lastDirty = new Set();
    const f: Frame = { now: t0, wall: Date.now(), dirty, marketDirty: !paused && s.marketDirty, version: s.version, paused, fast: this.minFrame === FAST_FRAME_MS };
    if (!paused) s.marketDirty = false;
    let again = false;
    for (const v of this.views) {
      try {
        if (v.paint(f)) again = true;
      } catch (err) {
        console.error('tickertape: a view failed to paint', err);
      }
    }
    this.frames++;
    this.lastPaintMs = performance.now() - t0;
    if (again) this.schedule();
  }
}
