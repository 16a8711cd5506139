/**
 * The process bench/web/upload-memory.ts measures: a node:http server whose one route takes a
 * multipart upload with receiveMultipart into the storage named by BENCH_TARGET (a JSON object:
 * `{ "kind": "filesystem", "location" }` or `{ "kind": "s3", "options" }`), and nothing else in
 * it (the client and the S3 server run in the parent). It samples its own RSS every 5 ms and
 * answers `GET /stats` with the baseline before the upload and the peak during it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FileSystemStorage, type Storage } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { FileSizeValidator, receiveMultipart, sendError } from '@filefield/web';

const target = JSON.parse(process.env.BENCH_TARGET ?? '{}');
const storage: Storage = target.kind === 's3' ? new S3Storage(target.options) : new FileSystemStorage({ location: target.location });
const validators = [new FileSizeValidator({ maxSize: 4 * 1024 ** 3 })];

let peak = 0;
let baseline = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);

const server = createServer(async (req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.end(JSON.stringify({ baseline, peak }));
    return;
  }
  if (req.method === 'POST' && req.url === '/reset') {
    // The baseline: after a full collection, before the upload starts.
    global.gc?.();
    baseline = process.memoryUsage.rss();
    peak = baseline;
    res.end('{}');
    return;
  }
  const started = process.hrtime.bigint();
  try {
    const { files } = await receiveMultipart(req, { files: { file: { to: storage, validators } } });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    res.end(JSON.stringify({ ...files.file, seconds }));
  } catch (error) {
    console.error(error);
    sendError(res, error);
  }
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => {
  clearInterval(sampler);
  server.close();
  process.exit(0);
});
