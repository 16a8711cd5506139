/**
 * A CA made for the test (openssl), a server certificate for 127.0.0.1 that it signed, and an
 * HTTPS server on 127.0.0.1 with that certificate that forwards every request to a plain HTTP
 * S3 server (s3rver): a TLS endpoint whose trust the test controls.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  /** The directory holding the files (removed by `remove`). */
  readonly directory: string;
  /** The CA certificate (PEM), the bundle a client trusts. */
  readonly caPath: string;
  readonly serverKey: Buffer;
  readonly serverCert: Buffer;
  remove(): void;
}

/** A fresh CA and a server certificate for IP 127.0.0.1 and localhost, valid for two days. */
export function makeTestCa(): TestCa {
  const directory = mkdtempSync(join(tmpdir(), 'filefield-ca-'));
  const file = (name: string) => join(directory, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=filefield test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(file('ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n');
  openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('ext'));
  return {
    directory,
    caPath: file('ca.pem'),
    serverKey: readFileSync(file('server.key')),
    serverCert: readFileSync(file('server.pem')),
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}

export interface TlsFront {
  /** `https://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  /** Requests forwarded so far. */
  readonly requests: number;
  stop(): Promise<void>;
}

/** HTTPS on 127.0.0.1 with the CA's server certificate, forwarding to `upstream` (http://host:port). */
export async function startTlsFront(ca: TestCa, upstream: string): Promise<TlsFront> {
  const target = new URL(upstream);
  let requests = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer({ key: ca.serverKey, cert: ca.serverCert }, (incoming, outgoing) => {
    requests += 1;
    const forwarded = httpRequest(
      { host: target.hostname, port: Number(target.port), method: incoming.method, path: incoming.url, headers: incoming.headers },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // Handshakes the client refuses end here: not the test's failure.
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `https://127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
