/**
 * The example page (test/support/example-app.ts) in Debian's Chromium, driven by playwright-core:
 * a multipart upload through the app and a direct upload to s3rver (CORS on the bucket), each
 * shown with its URL and downloaded back byte for byte; and the refusals a user sees. Runs when
 * Chromium is installed; FILEFIELD_REQUIRE=chromium (CI) makes its absence a failure.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomSuffix } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { type S3rverHandle, startS3rver } from '@filefield/s3/testing';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { chromiumPath, describeWith } from '../../../test-support/services';
import { type ExampleApp, MAX_AVATAR, startExampleApp } from './support/example-app';
import { pngBytes } from './support/http';

const TIMEOUT = 180_000;
const CORS = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>POST</AllowedMethod>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
  </CORSRule>
</CORSConfiguration>`;

describeWith('chromium', 'the example page in Chromium', () => {
  let s3: S3rverHandle;
  let storage: S3Storage;
  let app: ExampleApp;
  let profileDir: string;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    s3 = await startS3rver({ configs: [CORS] });
    storage = new S3Storage(s3.storageOptions({ id: `web-page:${randomSuffix(10)}` }));
    app = await startExampleApp(storage);
    profileDir = await mkdtemp(join(tmpdir(), 'filefield-chromium-'));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: chromiumPath,
      headless: true,
      acceptDownloads: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await context.newPage();
    await page.goto(app.url);
  }, TIMEOUT);

  afterAll(async () => {
    await context?.close();
    await app?.close();
    await s3?.stop();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
  }, TIMEOUT);

  async function submit(form: 'multipart' | 'direct', file: { name: string; buffer: Buffer }): Promise<string> {
    await page.evaluate(() => (document.getElementById('status')!.dataset.state = ''));
    await page.setInputFiles(`#${form}-file`, { name: file.name, mimeType: 'image/png', buffer: file.buffer });
    await page.click(`#${form}-submit`);
    await page.waitForSelector('#status[data-state="done"], #status[data-state="refused"]');
    return page.textContent('#status') as Promise<string>;
  }

  async function downloadShown(): Promise<Buffer> {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#file-url')]);
    return readFile((await download.path())!);
  }

  it('(a) uploads through the app with a multipart form, shows the URL, downloads it back', async () => {
    const bytes = pngBytes(100_000);
    expect(await submit('multipart', { name: 'face one.png', buffer: bytes })).toBe('stored avatars/face_one.png');
    expect(await page.textContent('#file-url')).toBe(`${app.url}/avatar`);
    expect((await downloadShown()).equals(bytes)).toBe(true);
    expect(app.requests).toContainEqual(expect.stringMatching(/^POST \/avatar \d+$/));
  }, TIMEOUT);

  it('(b) uploads directly to the S3 server (no bytes through the app), attaches, downloads it back', async () => {
    const bytes = pngBytes(150_000);
    const before = app.requests.length;
    expect(await submit('direct', { name: 'face two.png', buffer: bytes })).toBe('stored avatars/face_two.png');
    expect((await storage.size('avatars/face_two.png'))).toBe(150_000);
    const seen = app.requests.slice(before);
    expect(seen.map((line) => line.replace(/ \d+$/, ''))).toEqual(['POST /avatar/direct', 'POST /avatar/attach']);
    // The app received only the two small JSON bodies, never the file.
    for (const line of seen) expect(Number(line.split(' ')[2])).toBeLessThan(2048);
    expect((await downloadShown()).equals(bytes)).toBe(true);
    const [row] = await app.world.dataSource.query(`SELECT avatar FROM ${app.world.dataSource.entityMetadatas[0].tableName}`);
    expect(row.avatar).toBe('avatars/face_two.png');
  }, TIMEOUT);

  it('shows the refusals: an oversized file (413) and a file that is not a PNG (415)', async () => {
    expect(await submit('multipart', { name: 'huge.png', buffer: pngBytes(MAX_AVATAR + 1) })).toBe(`refused (413): The file in 'avatar' is larger than ${MAX_AVATAR} bytes.`);
    expect(await submit('direct', { name: 'fake.png', buffer: Buffer.from('<svg onload="alert(1)"></svg>') })).toBe("refused (415): The file in 'avatar' is image/svg+xml, which is not allowed. Allowed types are: image/png.");
    // The refused direct upload went to the sweeper (no row names it), the oversized one was never stored.
    await app.world.installation.sweep();
    expect(await storage.exists('avatars/fake.png')).toBe(false);
    expect(await storage.exists('avatars/huge.png')).toBe(false);
    // The row still names the last accepted upload.
    expect((await downloadShown()).length).toBe(150_000);
  }, TIMEOUT);
});
