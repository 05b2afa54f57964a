// The SharedWorker that holds the one server stream for every tab of this
// browser (see hub.ts). A tab holds a Web Lock named after itself for as long
// as it lives; the worker asks for the same lock, which it gets only when the
// tab is gone, however it went (closed, crashed, discarded).

import { Hub, lockName, type TabToHub } from './hub';
import { browserEnv } from './stream';

interface ConnectEvent extends MessageEvent {
  readonly ports: readonly MessagePort[];
}

const scope = globalThis as unknown as {
  onconnect: ((e: ConnectEvent) => void) | null;
  location: { origin: string };
  navigator: { locks?: LockManager };
};

const hub = new Hub(scope.location.origin, browserEnv(), { shared: true });

scope.onconnect = (e: ConnectEvent) => {
  const port = e.ports[0];
  let id: string | null = null;
  const out = { post: (m: Parameters<MessagePort['postMessage']>[0]) => port.postMessage(m) };
  port.onmessage = (m: MessageEvent<TabToHub>) => {
    const msg = m.data;
    if (msg.t === 'hello') {
      id = msg.tab;
      const tab = id;
      scope.navigator.locks?.request(lockName(tab), () => hub.detach(tab));
    }
    if (id !== null) hub.receive(id, out, msg);
  };
  port.start();
};
