/**
 * The example app the browser test drives: one page with two forms for a profile's avatar.
 *
 *   (a) a multipart form POSTed to the app (receiveMultipart into `profile.avatar`);
 *   (b) a direct upload: the page asks the app for a target, POSTs the file to the S3 server
 *       itself (the bytes never pass through the app), then sends the token back to attach.
 *
 * Either way the page then shows the file's URL (the app's download route) and a link to it.
 * TypeORM on SQLite holds the profiles and the ledger; the storage is S3 (s3rver in the test).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Storage } from '@filefield/core';
import { ContentTypeValidator, DirectUploads, FileSizeValidator, receiveMultipart, sendError, sendFile } from '../../src';
import { type TestServer, startServer } from './http';
import { type LifecycleWorld, openWorld } from './lifecycle';

export const MAX_AVATAR = 256 * 1024;

const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Avatar uploads</title></head>
<body>
  <h1>Avatar</h1>
  <form id="multipart" method="post" enctype="multipart/form-data">
    <input id="multipart-file" type="file" name="avatar" accept="image/png">
    <button id="multipart-submit" type="submit">Upload through the app</button>
  </form>
  <form id="direct">
    <input id="direct-file" type="file" accept="image/png">
    <button id="direct-submit" type="submit">Upload directly to storage</button>
  </form>
  <p id="status"></p>
  <p>File URL: <a id="file-url" href=""></a></p>
  <script>
    const status = document.getElementById('status');
    const show = (result) => {
      const link = document.getElementById('file-url');
      link.href = result.url;
      link.textContent = new URL(result.url, location.href).href;
      status.textContent = 'stored ' + result.name;
      status.dataset.state = 'done';
    };
    const fail = async (response) => {
      const body = await response.json().catch(() => ({ error: { message: response.statusText } }));
      status.textContent = 'refused (' + response.status + '): ' + body.error.message;
      status.dataset.state = 'refused';
    };
    document.getElementById('multipart').addEventListener('submit', async (event) => {
      event.preventDefault();
      status.dataset.state = 'busy';
      const response = await fetch('/avatar', { method: 'POST', body: new FormData(event.target) });
      if (response.ok) show(await response.json()); else await fail(response);
    });
    document.getElementById('direct').addEventListener('submit', async (event) => {
      event.preventDefault();
      status.dataset.state = 'busy';
      const file = document.getElementById('direct-file').files[0];
      const issued = await fetch('/avatar/direct', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filename: file.name }) });
      if (!issued.ok) return fail(issued);
      const { target, token } = await issued.json();
      const form = new FormData();
      for (const [key, value] of Object.entries(target.fields)) form.append(key, value);
      form.append(target.fileField, file);
      const posted = await fetch(target.url, { method: target.method, body: form });
      if (!posted.ok) { status.textContent = 'storage refused (' + posted.status + ')'; status.dataset.state = 'refused'; return; }
      const attached = await fetch('/avatar/attach', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
      if (attached.ok) show(await attached.json()); else await fail(attached);
    });
  </script>
</body>
</html>`;

export interface ExampleApp {
  readonly url: string;
  /** `METHOD path bytes` of every request the app received (the body's size as it arrived). */
  readonly requests: string[];
  readonly world: LifecycleWorld;
  close(): Promise<void>;
}

async function json(req: IncomingMessage): Promise<any> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 16 * 1024) throw new Error('body too large');
  }
  return JSON.parse(text);
}

export async function startExampleApp(storage: Storage): Promise<ExampleApp> {
  const world = await openWorld('sqlite', storage);
  const validators = [new FileSizeValidator({ maxSize: MAX_AVATAR }), new ContentTypeValidator(['image/png'])];
  const direct = new DirectUploads({ secret: randomBytes(32), validators, ledger: world.installation.ledger });
  // One signed-in user with one profile, to keep the example small.
  const profile = new world.Profile();
  profile.owner = 'ada';
  await world.dataSource.manager.save(profile);
  const reply = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const stored = () => ({ name: profile.avatar.name, url: '/avatar' });

  const requests: string[] = [];
  const server: TestServer = await startServer(async (req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    res.once('finish', () => requests.push(`${req.method} ${req.url} ${bytes}`));
    try {
      if (req.method === 'GET' && req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      } else if (req.method === 'POST' && req.url === '/avatar') {
        await receiveMultipart(req, { files: { avatar: { to: profile.avatar, validators } }, ledger: world.installation.ledger });
        await world.dataSource.manager.save(profile);
        reply(res, 201, stored());
      } else if (req.method === 'POST' && req.url === '/avatar/direct') {
        const { target, token } = await direct.issue(profile.avatar, { filename: (await json(req)).filename }, { subject: profile.owner });
        reply(res, 200, { target, token });
      } else if (req.method === 'POST' && req.url === '/avatar/attach') {
        await direct.attach(profile.avatar, (await json(req)).token, { subject: profile.owner });
        await world.dataSource.manager.save(profile);
        reply(res, 201, stored());
      } else if (req.method === 'GET' && req.url === '/avatar') {
        await sendFile(req, res, profile.avatar);
      } else {
        reply(res, 404, { error: { code: 'E_NOT_FOUND', message: 'No such page.' } });
      }
    } catch (error) {
      sendError(res, error);
    }
  });
  return {
    url: server.url,
    requests,
    world,
    async close() {
      await server.close();
      await world.close();
    },
  };
}
