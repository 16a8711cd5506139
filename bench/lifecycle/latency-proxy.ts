/**
 * A TCP proxy on 127.0.0.1 that delays every chunk a client sends by `delay` ms before passing
 * it on: each S3 request then takes at least that much longer (injected storage latency).
 */
import { type AddressInfo, type Socket, createServer, connect } from 'node:net';

export async function startLatencyProxy(target: { host: string; port: number }, delay: number): Promise<{ url: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk) => {
      client.pause();
      setTimeout(() => {
        upstream.write(chunk);
        client.resume();
      }, delay);
    });
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
