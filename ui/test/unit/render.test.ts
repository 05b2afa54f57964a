import { describe, expect, it } from 'vitest';
import { FAST_FRAME_MS, MIN_FRAME_MS, Renderer, type Frame, type RenderEnv } from '../../src/render';
import { Store } from '../../src/store';
import { quote, snapshot } from './fakes';

/** Animation frames on demand: the test says when the next one fires, and at what time. */
function fakeFrames() {
  let t = 1000;
  let queued: (() => void)[] = [];
  const env: RenderEnv = {
    now: () => t,
    wall: () => 1_800_000_000_000 + t,
    requestFrame: (fn) => void queued.push(fn),
    every: () => {},
  };
  /** Advances the clock by ms and fires the frames asked for; returns how many fired. */
  const fire = (ms: number) => {
    t += ms;
    const q = queued;
    queued = [];
    for (const fn of q) fn();
    return q.length;
  };
  return { env, fire, pending: () => queued.length };
}

/** A view that records the frames it painted in. */
function recorder(log: string[], name: string) {
  const frames: Frame[] = [];
  return {
    frames,
    paint(f: Frame) {
      log.push(name);
      frames.push(f);
    },
  };
}

describe('renderer: one paint spread over animation frames, one phase each', () => {
  it('paints the board in one frame and the panels in the next, from the same changes', () => {
    const { env, fire } = fakeFrames();
    const store = new Store(() => 0, () => 0);
    const r = new Renderer(store, env);
    const log: string[] = [];
    const board = recorder(log, 'board');
    const panels = recorder(log, 'panels');
    r.add(board);
    r.add(panels, 'panels');
    store.applyAll([{ name: 'snapshot', id: 1, data: snapshot([quote('A', 100), quote('B', 50)]) }]);

    fire(16);
    expect(log).toEqual(['board']);
    fire(16);
    expect(log).toEqual(['board', 'panels']);
    expect([...panels.frames[0].dirty].sort()).toEqual(['A', 'B']);
    expect(panels.frames[0].dirty).toBe(board.frames[0].dirty);
    expect(panels.frames[0].now).toBe(board.frames[0].now + 16);
    expect(r.frames).toBe(1);
    // Nothing changed: no more frames.
    expect(fire(16)).toBe(0);
  });

  it('gives a pending phase its own frame even when the next paint is due, so a late frame never holds both', () => {
    const { env, fire } = fakeFrames();
    const store = new Store(() => 0, () => 0);
    const r = new Renderer(store, env);
    const log: string[] = [];
    r.add(recorder(log, 'board'));
    r.add(recorder(log, 'panels'), 'panels');
    store.applyAll([{ name: 'snapshot', id: 1, data: snapshot([quote('A', 100)]) }]);
    fire(16);
    store.applyAll([{ name: 'quote', id: 2, data: quote('A', 101, 1_800_000_000_100) }]);
    // A busy machine: the next frame comes far past the paint's spacing.
    fire(MIN_FRAME_MS * 3);
    expect(log).toEqual(['board', 'panels']);
    fire(16);
    expect(log).toEqual(['board', 'panels', 'board']);
    fire(16);
    expect(log).toEqual(['board', 'panels', 'board', 'panels']);
    expect(r.frames).toBe(2);
  });

  it('keeps paints at least MIN_FRAME_MS apart, and skips a phase without views', () => {
    const { env, fire, pending } = fakeFrames();
    const store = new Store(() => 0, () => 0);
    const r = new Renderer(store, env);
    const log: string[] = [];
    r.add(recorder(log, 'board'));
    store.applyAll([{ name: 'snapshot', id: 1, data: snapshot([quote('A', 100)]) }]);
    fire(16);
    expect(log).toEqual(['board']);
    expect(pending()).toBe(0); // no panels: nothing more to paint
    store.applyAll([{ name: 'quote', id: 2, data: quote('A', 101, 1_800_000_000_100) }]);
    fire(10);
    expect(log).toEqual(['board']); // too soon
    fire(MIN_FRAME_MS);
    expect(log).toEqual(['board', 'board']);
    expect(FAST_FRAME_MS).toBeGreaterThan(MIN_FRAME_MS);
  });

  it('asks for another paint when a view animates, after its phases', () => {
    const { env, fire } = fakeFrames();
    const store = new Store(() => 0, () => 0);
    const r = new Renderer(store, env);
    const log: string[] = [];
    let flashes = 2;
    r.add({ paint: () => void log.push('board') });
    r.add({ paint: () => (log.push('panels'), flashes-- > 0) }, 'panels');
    store.applyAll([{ name: 'snapshot', id: 1, data: snapshot([quote('A', 100)]) }]);
    for (let k = 0; k < 12; k++) fire(20);
    expect(log).toEqual(['board', 'panels', 'board', 'panels', 'board', 'panels']);
  });
});
