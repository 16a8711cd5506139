/**
 * An HTTP forward proxy on 127.0.0.1, as a corporate proxy is: absolute-URI requests
 * (`GET http://host/path`) are forwarded, `CONNECT host:port` opens a tunnel. It counts both, so
 * a test can prove that a client went through it.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface ForwardProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Absolute-URI requests forwarded (one per HTTP request to an http: endpoint). */
  readonly forwarded: number;
  /** CONNECT tunnels opened (one per connection to an https: endpoint). */
  readonly tunnels: number;
  /** The `host:port` targets of the CONNECT requests, in order. */
  readonly tunnelTargets: readonly string[];
  /** Proxy-Authorization headers received. */
  readonly authorizations: readonly string[];
  stop(): Promise<void>;
}

export async function startForwardProxy(): Promise<ForwardProxy> {
  let forwarded = 0;
  const tunnelTargets: string[] = [];
  const authorizations: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((incoming, outgoing) => {
    forwarded += 1;
    const auth = incoming.headers['proxy-authorization'];
    if (auth) authorizations.push(auth);
    const target = new URL(incoming.url ?? '/');
    const headers = { ...incoming.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const upstream = httpRequest(
      { host: target.hostname, port: Number(target.port || 80), method: incoming.method, path: target.pathname + target.search, headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  server.on('connect', (request, client: Socket, head: Buffer) => {
    const target = request.url ?? '';
    tunnelTargets.push(target);
    const auth = request.headers['proxy-authorization'];
    if (auth) authorizations.push(auth);
    const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const close = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', close);
    client.on('error', close);
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get forwarded() {
      return forwarded;
    },
    get tunnels() {
      return tunnelTargets.length;
    },
    tunnelTargets,
    authorizations,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
