/**
 * Servers that misbehave at the TCP level, for timeout tests. Both can stop misbehaving and
 * forward to a real S3 server (s3rver), so a test can show that a storage works again after its
 * calls timed out.
 *
 * - `startHoldingProxy`: accepts connections; while holding, it reads what clients send and never
 *   answers (a server that hangs after accepting). Forwarding, it relays to the upstream server.
 * - `startUnacceptingServer`: a listening socket that never accepts, with its accept queue full,
 *   so the kernel drops new SYNs and connecting hangs (a server that does not answer at all).
 */
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

export interface HoldingProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** From now on, every byte any client sends (on new or pooled connections) goes unanswered. */
  hold(): void;
  /** New connections are relayed to the upstream server again (held ones stay dead). */
  forward(): void;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Resolves once every connection accepted so far has been closed by its client. */
  allClosed(): Promise<void>;
  stop(): Promise<void>;
}

/** A proxy on 127.0.0.1 in front of `upstreamPort` (or, without one, a server that only holds). */
export async function startHoldingProxy(upstreamPort?: number): Promise<HoldingProxy> {
  let holding = upstreamPort === undefined;
  let accepted = 0;
  const closed: Array<Promise<void>> = [];
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    accepted += 1;
    open.add(client);
    closed.push(new Promise<void>((resolve) => client.once('close', () => resolve())));
    client.on('error', () => undefined);
    let dead = holding;
    const upstream = dead || upstreamPort === undefined ? undefined : tcpConnect(upstreamPort, '127.0.0.1');
    client.on('data', (chunk) => {
      // A pooled connection that was relaying goes silent too once the proxy holds.
      if (holding) dead = true;
      if (!dead) upstream?.write(chunk);
    });
    client.on('close', () => {
      open.delete(client);
      upstream?.destroy();
    });
    if (upstream) {
      upstream.on('error', () => client.destroy());
      upstream.on('data', (chunk) => {
        // A download in progress goes silent too; with backpressure, so that what the proxy has
        // read from the server is what the client gets (not a whole object queued in memory).
        if (holding) dead = true;
        if (dead) return;
        if (!client.write(chunk)) {
          upstream.pause();
          client.once('drain', () => upstream.resume());
        }
      });
      upstream.on('end', () => {
        if (!dead) client.end();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hold: () => {
      holding = true;
    },
    forward: () => {
      if (upstreamPort === undefined) throw new Error('this proxy has no upstream to forward to');
      holding = false;
    },
    get accepted() {
      return accepted;
    },
    allClosed: async () => {
      await Promise.all(closed);
    },
    stop: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface UnacceptingServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Start accepting: from now on connections are relayed to the upstream server. */
  release(): Promise<void>;
  stop(): Promise<void>;
}

// Plain JavaScript for `eval`. The worker listens with a backlog of 1, reports its port and then
// blocks its event loop in Atomics.wait, so nothing accepts; once woken it relays to upstream.
const UNACCEPTING_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer((client) => {
  const upstream = net.connect(workerData.upstreamPort, '127.0.0.1');
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
server.listen(0, '127.0.0.1', 1, () => {
  parentPort.postMessage({ port: server.address().port });
  Atomics.wait(new Int32Array(workerData.gate), 0, 0);
  parentPort.postMessage({ released: true });
});
`;

/**
 * A server on 127.0.0.1 whose accept queue is full. Linux queues backlog + 1 handshaken
 * connections for a listener nobody accepts from (2 for a backlog of 1) and then drops further
 * SYNs, so the client's connect neither succeeds nor fails: it retries SYNs until its own timeout.
 */
export async function startUnacceptingServer(upstreamPort: number): Promise<UnacceptingServer> {
  const gate = new SharedArrayBuffer(4);
  const worker = new Worker(UNACCEPTING_WORKER, { eval: true, workerData: { upstreamPort, gate } });
  const messages: Array<(message: { port?: number; released?: boolean }) => void> = [];
  worker.on('message', (message) => messages.shift()?.(message));
  const next = () => new Promise<{ port?: number; released?: boolean }>((resolve) => messages.push(resolve));
  const { port } = await next();
  if (port === undefined) throw new Error('the unaccepting server did not report its port');
  // Fill the accept queue; each of these completes its handshake in the kernel alone.
  const fillers: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    fillers.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
  }
  let released = false;
  return {
    url: `http://127.0.0.1:${port}`,
    release: async () => {
      if (released) return;
      released = true;
      for (const socket of fillers) socket.destroy();
      const woke = next();
      Atomics.notify(new Int32Array(gate), 0);
      await woke;
    },
    stop: async () => {
      for (const socket of fillers) socket.destroy();
      // Woken first: termination need not interrupt a blocked Atomics.wait.
      Atomics.notify(new Int32Array(gate), 0);
      await worker.terminate();
    },
  };
}
