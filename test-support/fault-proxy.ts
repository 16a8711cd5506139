/**
 * A TCP proxy on 127.0.0.1 for fault injection: between a client (the S3 driver) and a real
 * server (s3rver, radosgw). It forwards by default; `stall()` makes it accept connections and
 * forward nothing (every request hangs), `refuse()` makes it reset new connections, `heal()`
 * forwards again and drops the connections it was holding.
 */
import { type AddressInfo, type Server, type Socket, createServer, connect } from 'node:net';

export type ProxyMode = 'forward' | 'stall' | 'refuse';

export class FaultProxy {
  private mode: ProxyMode = 'forward';
  private readonly sockets = new Set<Socket>();
  private readonly held = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Start a proxy to `target` (host:port). */
  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer((client) => proxy!.accept(client, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  /** The proxy's URL for an `http://host:port` target URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  stall(): void {
    this.mode = 'stall';
    this.dropAll();
  }

  refuse(): void {
    this.mode = 'refuse';
    this.dropAll();
  }

  heal(): void {
    this.mode = 'forward';
    for (const socket of this.held) socket.destroy();
    this.held.clear();
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (this.mode === 'stall') {
      this.held.add(client);
      return;
    }
    const upstream = connect(target);
    this.sockets.add(upstream);
    upstream.once('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Kept-alive connections would carry requests past a new mode: close them. */
  private dropAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}
