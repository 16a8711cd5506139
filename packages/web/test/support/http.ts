/** A real node:http server on 127.0.0.1 for one test file, closed afterwards. */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startServer(handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>): Promise<TestServer> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((error) => {
      res.statusCode = 599;
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A multipart form with these fields and files, as fetch sends it. */
export function form(parts: Array<[string, string] | [string, Uint8Array | Blob, string]>): FormData {
  const data = new FormData();
  for (const part of parts) {
    if (part.length === 2) data.append(part[0], part[1]);
    else data.append(part[0], part[1] instanceof Blob ? part[1] : new Blob([part[1]]), part[2]);
  }
  return data;
}

/** A PNG's first bytes (signature and IHDR), padded to `size` bytes. */
export function pngBytes(size = 1024): Buffer {
  const header = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
  const out = Buffer.alloc(Math.max(size, header.length), 7);
  header.copy(out);
  return out.subarray(0, size);
}

/** A PDF's first bytes, padded to `size`. */
export function pdfBytes(size = 1024): Buffer {
  const out = Buffer.alloc(size, 0x20);
  out.write('%PDF-1.7\n');
  return out;
}
