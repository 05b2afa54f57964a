// The board's state in the top bar, in words: whether the stream is live
// ("SSE live"), down and for how long ("reconnecting (12 s)"), and what the
// market is doing ("Session open", "Market closed", "Feed ended", "No data
// for 20 s"). Nothing claims to be live or open while the stream is down.

import { h } from '../dom';
import type { Frame, View } from '../render';
import type { Store } from '../store';
import type { ConnStats } from '../stream';

/** A stream that has been open this long without an event, while the session is open, says so. */
export const QUIET_MS = 10000;

export interface BoardState {
  badge: string;
  badgeClass: string;
  /** The market's state, or '' while the stream is down. */
  pill: string;
  pillClass: string;
}

/**
 * What the top bar says, from the connection's stats (as of statsAge ms ago)
 * and the store's session.
 */
export function boardState(s: ConnStats | null, statsAge: number, store: Pick<Store, 'session' | 'market'>): BoardState {
  if (!s) return { badge: 'connecting', badgeClass: 'st-connecting', pill: '', pillClass: '' };
  if (s.state !== 'open') {
    const down = s.downFor === null ? null : Math.floor((s.downFor + statsAge) / 1000);
    const badge = s.state === 'closed' ? 'closed' : down === null ? s.state : `reconnecting (${down} s)`;
    return { badge, badgeClass: `st-${s.state}`, pill: '', pillClass: '' };
  }
  const badge = `${s.transport === 'ws' ? 'WS' : 'SSE'} live`;
  const session = store.session?.state ?? store.market?.session ?? '';
  const quiet = s.lastEventAge === null ? null : s.lastEventAge + statsAge;
  let pill = '';
  let pillClass = 'session';
  if (session === 'ended') {
    pill = 'Feed ended';
    pillClass = 'session warn-pill';
  } else if (session === 'closed') {
    pill = 'Market closed';
    pillClass = 'session closed';
  } else if (quiet !== null && quiet > QUIET_MS) {
    pill = `No data for ${Math.floor(quiet / 1000)} s`;
    pillClass = 'session warn-pill';
  } else if (session === 'open') {
    pill = 'Session open';
    pillClass = 'session open';
  }
  return { badge, badgeClass: `st-open`, pill, pillClass };
}

export class StatusView implements View {
  readonly badge = h('span.conn-badge', { title: 'Connection state' });
  readonly pill = h('span.session', { title: 'Market state', hidden: true });

  constructor(
    private readonly store: Store,
    private readonly stats: () => { stats: ConnStats | null; age: number },
  ) {}

  paint(_f: Frame): void {
    const { stats, age } = this.stats();
    const st = boardState(stats, age, this.store);
    if (this.badge.textContent !== st.badge) this.badge.textContent = st.badge;
    const bc = `conn-badge ${st.badgeClass}`;
    if (this.badge.className !== bc) this.badge.className = bc;
    if (this.pill.textContent !== st.pill) this.pill.textContent = st.pill;
    if (this.pill.className !== st.pillClass && st.pillClass) this.pill.className = st.pillClass;
    if (this.pill.hidden !== !st.pill) this.pill.hidden = !st.pill;
  }
}
