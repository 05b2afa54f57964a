// What the board remembers across reloads, in localStorage: the watchlist of
// one's own and whether it is the one shown, the selected symbol, the chart
// interval and the sort. Reading never throws: a value from an older build,
// another tab's typo or a full quota gives the default.

export type SortKey = 'sym' | 'name' | 'last' | 'chg' | 'pct' | 'vol' | 'time' | 'score';
export type Scope = 'all' | 'mine';

export interface Prefs {
  /** The symbols of my list, in the order they were added. */
  mine: string[];
  scope: Scope;
  selected: string | null;
  /** Chart interval, seconds. */
  interval: number;
  sort: { key: SortKey; dir: 1 | -1 } | null;
}

const KEY = 'tickertape-board';
const SORT_KEYS: readonly SortKey[] = ['sym', 'name', 'last', 'chg', 'pct', 'vol', 'time', 'score'];

export const DEFAULTS: Prefs = { mine: [], scope: 'all', selected: null, interval: 60, sort: null };

/** Reads the saved preferences, each field checked on its own. */
export function loadPrefs(storage: Pick<Storage, 'getItem'> | null = globalThis.localStorage ?? null): Prefs {
  let raw: unknown;
  try {
    raw = JSON.parse(storage?.getItem(KEY) ?? 'null');
  } catch {
    raw = null;
  }
  const o = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const mine = Array.isArray(o.mine) ? [...new Set(o.mine.filter((s): s is string => typeof s === 'string' && /^[A-Z0-9.-]{1,12}$/.test(s)))] : [];
  const sort = o.sort as { key?: unknown; dir?: unknown } | null;
  return {
    mine,
    scope: o.scope === 'mine' ? 'mine' : 'all',
    selected: typeof o.selected === 'string' && o.selected ? o.selected : null,
    interval: typeof o.interval === 'number' && [1, 5, 15, 60, 300].includes(o.interval) ? o.interval : DEFAULTS.interval,
    sort: sort && SORT_KEYS.includes(sort.key as SortKey) && (sort.dir === 1 || sort.dir === -1) ? { key: sort.key as SortKey, dir: sort.dir } : null,
  };
}

/** Keeps the preferences in memory and writes each change through. */
export class PrefStore {
  readonly value: Prefs;

  constructor(private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | null = globalThis.localStorage ?? null) {
    this.value = loadPrefs(storage);
  }

  set<K extends keyof Prefs>(key: K, v: Prefs[K]): void {
    this.value[key] = v;
    try {
      this.storage?.setItem(KEY, JSON.stringify(this.value));
    } catch {
      /* a full or forbidden storage: the board still works, it only forgets */
    }
  }
}
