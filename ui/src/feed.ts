// The page's end of the shared stream: connects to the SharedWorker hub (or
// runs the hub in the page where SharedWorker is missing or fails to start,
// or when the URL says ?shared=0), reports this tab's visibility, and hands
// the hub's batches and stats to the page.

import { Hub, lockName, type HubToTab, type TabToHub } from './hub';
import { browserEnv, type Transport } from './stream';

export interface Feed {
  setVisible(visible: boolean): void;
  setTransport(t: Transport): void;
  close(): void;
  /** Whether the stream is shared with other tabs through a SharedWorker. */
  readonly shared: boolean;
}

function tabId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

const visible = () => document.visibilityState === 'visible';

/** A hub of this page's own: one stream for this tab alone. */
function localFeed(id: string, onMessage: (m: HubToTab) => void, transport: Transport): Feed {
  const hub = new Hub(location.origin, browserEnv(), { shared: false });
  const port = { post: (m: HubToTab) => onMessage(m) };
  const send = (m: TabToHub) => hub.receive(id, port, m);
  send({ t: 'hello', tab: id, visible: visible(), transport });
  return {
    shared: false,
    setVisible: (v) => send({ t: 'visible', visible: v }),
    setTransport: (t) => send({ t: 'transport', transport: t }),
    close: () => send({ t: 'bye' }),
  };
}

/** Connects this page to the stream; onMessage gets event batches and stats. */
export async function connectFeed(onMessage: (m: HubToTab) => void, transport: Transport): Promise<Feed> {
  const id = tabId();
  const wantShared = new URLSearchParams(location.search).get('shared') !== '0';
  if (!wantShared || typeof SharedWorker === 'undefined' || !navigator.locks) return localFeed(id, onMessage, transport);

  // Hold our lock before we say hello, so the worker's request for it waits for our death.
  await new Promise<void>((held) => {
    navigator.locks.request(lockName(id), () => {
      held();
      return new Promise<never>(() => {});
    });
  });
  const worker = new SharedWorker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'tickertape-stream' });
  const port = worker.port;
  let current: Feed | null = null;
  let heard = false;
  port.onmessage = (e: MessageEvent<HubToTab>) => {
    heard = true;
    onMessage(e.data);
  };
  // A worker that cannot start (a blocked script, a broken build) must not leave the page dark.
  worker.onerror = () => {
    if (!heard && !current) current = localFeed(id, onMessage, transport);
  };
  port.start();
  const send = (m: TabToHub) => port.postMessage(m);
  send({ t: 'hello', tab: id, visible: visible(), transport });
  addEventListener('pagehide', () => send({ t: 'bye' }));
  // Back from the back/forward cache: the hub forgot us at pagehide.
  addEventListener('pageshow', (e) => {
    if (e.persisted) send({ t: 'hello', tab: id, visible: visible(), transport });
  });
  return {
    get shared() {
      return current === null;
    },
    setVisible: (v) => (current ? current.setVisible(v) : send({ t: 'visible', visible: v })),
    setTransport: (t) => {
      transport = t;
      if (current) current.setTransport(t);
      else send({ t: 'transport', transport: t });
    },
    close: () => (current ? current.close() : send({ t: 'bye' })),
  };
}
