// A tiny DOM helper: the views build their markup once with it, then only
// set text and classes on what changed.

type Attrs = Record<string, string | number | boolean | undefined>;

/** h('div.a.b', {role: 'row'}, child…) → element */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K | `${K}.${string}`,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name as K);
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c != null) el.append(c);
  return el;
}

/**
 * Sets an element's text only when it differs (a DOM write costs even when
 * equal). An element that holds one text node keeps it and changes its data:
 * assigning textContent would remove that node and insert a new one, which
 * costs a style recalc and a new layout object each time, and this runs for
 * every ticking cell of every frame.
 */
export function setText(el: Element, s: string): void {
  const t = el.firstChild;
  if (t !== null && t === el.lastChild && t.nodeType === Node.TEXT_NODE) {
    if ((t as Text).data !== s) (t as Text).data = s;
  } else if (el.textContent !== s) el.textContent = s;
}

/** A text cell that remembers what it shows, so painting compares strings, not DOM. */
export class Cell {
  private v = '';
  constructor(readonly el: HTMLElement) {}
  set(s: string): void {
    if (s !== this.v) {
      this.v = s;
      setText(this.el, s);
    }
  }
  cls(c: string): void {
    if (this.el.className !== c) this.el.className = c;
  }
}

/** Colour class of a signed number. */
export const signClass = (x: number | undefined): string => (x === undefined || x === 0 || !Number.isFinite(x) ? 'flat' : x > 0 ? 'up' : 'down');

// Theme colours for canvases, read once per theme change rather than per draw.
const varCache = new Map<string, string>();
export function getVar(name: string): string {
  let v = varCache.get(name);
  if (v === undefined) {
    v = getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';
    varCache.set(name, v);
  }
  return v;
}
/** Forgets the cached theme colours (after the theme changes). */
export function clearVarCache(): void {
  varCache.clear();
}
