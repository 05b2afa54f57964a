// The page's end of the shared stream: connects to the SharedWorker hub (or
// runs the hub in the page where SharedWorker is missing, or when the URL
// says ?shared=0), reports this tab's visibility, and hands the hub's
// batches and stats to the page.

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

/** Connects this page to the stream; onMessage gets event batches and stats. */
export async function connectFeed(onMessage: (m: HubToTab) => void, transport: Transport): Promise<Feed> {
  const id = tabId();
  const visible = () => document.visibilityState === 'visible';
  const wantShared = new URLSearchParams(location.search).get('shared') !== '0';

  if (wantShared && typeof SharedWorker !== 'undefined' && navigator.locks) {
    // Hold our lock before we say hello, so the worker's request for it waits for our death.
    await new Promise<void>((held) => {
      navigator.locks.request(lockName(id), () => {
        held();
        return new Promise<never>(() => {});
      });
    });
    const worker = new SharedWorker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'tickertape-stream' });
    const port = worker.port;
    port.onmessage = (e: MessageEvent<HubToTab>) => onMessage(e.data);
    port.start();
    const send = (m: TabToHub) => port.postMessage(m);
    send({ t: 'hello', tab: id, visible: visible(), transport });
    addEventListener('pagehide', () => send({ t: 'bye' }));
    // Back from the back/forward cache: the hub forgot us at pagehide.
    addEventListener('pageshow', (e) => {
      if (e.persisted) send({ t: 'hello', tab: id, visible: visible(), transport });
    });
    return {
      shared: true,
      setVisible: (v) => send({ t: 'visible', visible: v }),
      setTransport: (t) => send({ t: 'transport', transport: t }),
      close: () => send({ t: 'bye' }),
    };
  }

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
