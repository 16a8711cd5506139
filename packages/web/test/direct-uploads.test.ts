/**
 * Direct uploads end to end over real HTTP: the target from `issue` (a presigned POST), the file
 * POSTed to the S3 server as a browser form would, `attach` with the token, the row saved through
 * TypeORM (SQLite; PostgreSQL where it runs). On s3rver (which ignores POST policies) the app's
 * own checks refuse what should not be there; on radosgw the policy itself refuses it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, FileSystemStorage, randomSuffix, type UploadTarget } from '@filefield/core';
import { S3Storage } from '@filefield/s3';
import { ContentTypeValidator, DirectUploads, FileExtensionValidator, FileSizeValidator, FileValidationError, UploadTokenError, httpError } from '../src';
import { describeOnServers, type S3Server } from '../../s3/test/support/servers';
import { describeWith } from '../../../test-support/services';
import { pdfBytes, pngBytes } from './support/http';
import { type DatabaseKind, type LifecycleWorld, openWorld } from './support/lifecycle';

const TIMEOUT = 120_000;
const SECRET = randomBytes(32);
const MAX = 64 * 1024;

/** POST a file to an upload target as an HTML form does: the target's fields, then the file last. */
async function postToTarget(target: UploadTarget, bytes: Uint8Array, filename = 'upload.bin'): Promise<Response> {
  const body = new FormData();
  for (const [key, value] of Object.entries(target.fields)) body.append(key, value);
  body.append(target.fileField, new Blob([bytes]), filename);
  return fetch(target.url, { method: 'POST', body });
}

function suite(kind: DatabaseKind, server: () => S3Server) {
  let world: LifecycleWorld;
  let storage: S3Storage;
  let uploads: DirectUploads;
  let now: number;

  beforeAll(async () => {
    storage = new S3Storage(server().options({ location: `direct-${kind}`, id: `web-direct:${randomSuffix(10)}`, requestChecksumCalculation: 'WHEN_REQUIRED' } as never));
    world = await openWorld(kind, storage);
    now = Date.now();
    uploads = new DirectUploads({
      secret: SECRET,
      validators: [new FileSizeValidator({ maxSize: MAX }), new ContentTypeValidator(['image/png'])],
      ledger: world.installation.ledger,
      clock: () => now,
    });
  }, TIMEOUT);

  afterAll(async () => {
    await world?.close();
  }, TIMEOUT);

  const fresh = () => {
    const profile = new world.Profile();
    profile.owner = 'ada';
    return profile;
  };

  it('issue claims the name first; the browser POSTs; attach checks and assigns; the row save references it', async () => {
    const profile = fresh();
    const issued = await uploads.issue(profile.avatar, { filename: 'my face.png' }, { subject: 'ada' });
    expect(issued.target).toMatchObject({ method: 'POST', fileField: 'file' });
    // The target reaches a staging name only; the field gets a checked copy under its own name.
    expect(issued.target.fields.key).toBe(`${storage.location}/avatars/my_face.png.upload`);
    expect(issued.target.fields['Content-Type']).toBe('image/png');
    // Claimed before a byte is uploaded.
    expect(await world.ledgerRows()).toContainEqual({ name: 'avatars/my_face.png.upload', state: 'present', claimExpired: false });
    const posted = await postToTarget(issued.target, pngBytes(10_000));
    expect(posted.status).toBe(204);
    const attached = await uploads.attach(profile.avatar, issued.token, { subject: 'ada' });
    expect(attached).toEqual({ field: 'avatar', filename: 'my_face.png', name: 'avatars/my_face.png', size: 10_000, contentType: 'image/png' });
    expect(profile.avatar.name).toBe('avatars/my_face.png');
    expect((await profile.avatar.open().read()).equals(pngBytes(10_000))).toBe(true);
    await world.dataSource.manager.save(profile);
    expect((await world.ledgerRows()).find((row) => row.name === 'avatars/my_face.png')).toEqual({ name: 'avatars/my_face.png', state: 'present', claimExpired: null });
    // A second issue for the same file name gets another free staging name.
    const second = await uploads.issue(fresh().avatar, { filename: 'my face.png' }, { subject: 'ada' });
    expect(second.target.fields.key).toMatch(/avatars\/my_face\.png_[A-Za-z0-9]{7}\.upload$/);
  }, TIMEOUT);

  it('refuses forged, tampered, expired and misdirected tokens (403) and never assigns the name', async () => {
    const victim = fresh();
    const issued = await uploads.issue(victim.avatar, { filename: 'private.png' }, { subject: 'victim' });
    await postToTarget(issued.target, pngBytes(2000));
    const attacker = fresh();
    const [version, payload, mac] = issued.token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = `${version}.${Buffer.from(JSON.stringify({ ...claims, u: 'attacker' })).toString('base64url')}.${mac}`;
    const otherSecret = new DirectUploads({ secret: randomBytes(32), validators: [new FileSizeValidator({ maxSize: MAX })] });
    const elsewhere = await otherSecret.issue(fresh().avatar, { filename: 'x.png' }).catch((error) => error);
    const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
      ['another subject', () => uploads.attach(attacker.avatar, issued.token, { subject: 'attacker' }), /someone else/],
      ['a tampered payload', () => uploads.attach(attacker.avatar, forged, { subject: 'attacker' }), /not issued by this server/],
      ['another field of the same row type', () => uploads.attach(attacker.cv, issued.token, { subject: 'victim' }), /another field/],
      ['garbage', () => uploads.attach(attacker.avatar, 'v1.e30.AAAA', { subject: 'victim' }), /not issued by this server/],
      ['no token', () => uploads.attach(attacker.avatar, undefined, { subject: 'victim' }), /missing or malformed/],
    ];
    if (!(elsewhere instanceof Error)) cases.push(['a token of another secret', () => uploads.attach(attacker.avatar, elsewhere.token), /not issued by this server/]);
    for (const [label, attempt, message] of cases) {
      const error = await attempt().catch((caught: unknown) => caught);
      expect({ label, type: error instanceof UploadTokenError, status: httpError(error).status }).toEqual({ label, type: true, status: 403 });
      expect((error as Error).message).toMatch(message);
    }
    expect(attacker.avatar.name).toBeNull();
    expect(attacker.cv.name).toBeNull();
    const later = now;
    now += 601_000;
    try {
      await expect(uploads.attach(victim.avatar, issued.token, { subject: 'victim' })).rejects.toThrow(/expired/);
    } finally {
      now = later;
    }
    // The rightful owner still can, before expiry.
    await expect(uploads.attach(victim.avatar, issued.token, { subject: 'victim' })).resolves.toMatchObject({ size: 2000 });
  }, TIMEOUT);

  it('refuses an unsafe or disallowed file name before claiming anything', async () => {
    const strict = new DirectUploads({ secret: SECRET, validators: [new FileSizeValidator({ maxSize: MAX }), new FileExtensionValidator(['png'])], ledger: world.installation.ledger });
    const before = await world.ledgerRows();
    await expect(strict.issue(fresh().avatar, { filename: 'tool.exe' })).rejects.toMatchObject({ code: 'E_FILE_EXTENSION', status: 400, field: 'avatar' });
    await expect(strict.issue(fresh().avatar, { filename: '../../other-user/avatar.png' })).rejects.toMatchObject({ code: 'E_FILE_NAME', status: 400 });
    expect(await world.ledgerRows()).toEqual(before);
  }, TIMEOUT);

  it('attach before the upload arrived: 400 E_MISSING_FILE, nothing assigned', async () => {
    const profile = fresh();
    const issued = await uploads.issue(profile.avatar, { filename: 'later.png' });
    const error = await uploads.attach(profile.avatar, issued.token).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FileValidationError);
    expect(httpError(error)).toMatchObject({ status: 400, body: { error: { code: 'E_MISSING_FILE', field: 'avatar' } } });
    expect(profile.avatar.name).toBeNull();
  }, TIMEOUT);

  it('what arrived is checked: a PDF sent for an image is refused (415), its claim abandoned, and the sweeper deletes it', async () => {
    const profile = fresh();
    const issued = await uploads.issue(profile.avatar, { filename: 'sneaky.png' });
    expect((await postToTarget(issued.target, pdfBytes(3000))).status).toBe(204);
    const error = await uploads.attach(profile.avatar, issued.token).catch((caught: unknown) => caught);
    expect(httpError(error)).toMatchObject({ status: 415, body: { error: { code: 'E_FILE_TYPE' } } });
    // The refused copy is the sweeper's at once; the staging upload once the token has expired.
    expect(await world.ledgerRows()).toContainEqual({ name: 'avatars/sneaky.png', state: 'present', claimExpired: true });
    expect(profile.avatar.name).toBeNull();
    await world.installation.sweep();
    expect(await storage.exists('avatars/sneaky.png')).toBe(false);
    expect(await storage.exists('avatars/sneaky.png.upload')).toBe(true);
    await world.installation.sweep({ now: issued.expiresAt.getTime() + 1000 });
    expect(await storage.exists('avatars/sneaky.png.upload')).toBe(false);
  }, TIMEOUT);

  it('a refused upload can be corrected through the same target and attached again with the same token', async () => {
    const profile = fresh();
    const issued = await uploads.issue(profile.avatar, { filename: 'second try.png' });
    expect((await postToTarget(issued.target, pdfBytes(3000))).status).toBe(204);
    await expect(uploads.attach(profile.avatar, issued.token)).rejects.toMatchObject({ code: 'E_FILE_TYPE' });
    expect((await postToTarget(issued.target, pngBytes(2000))).status).toBe(204);
    await expect(uploads.attach(profile.avatar, issued.token)).resolves.toMatchObject({ size: 2000, contentType: 'image/png' });
    expect((await profile.avatar.open().read()).equals(pngBytes(2000))).toBe(true);
  }, TIMEOUT);

  it('the upload replaced through its still-valid target after attach: the row keeps the checked bytes, and a refused attach deletes nothing it names', async () => {
    const kept = fresh();
    const issued = await uploads.issue(kept.avatar, { filename: 'replaced.png' }, { subject: 'ada' });
    expect((await postToTarget(issued.target, pngBytes(1000))).status).toBe(204);
    await uploads.attach(kept.avatar, issued.token, { subject: 'ada' });
    await world.dataSource.manager.save(kept);
    // The target stays usable until it expires: the client replaces its own upload with a PDF.
    expect((await postToTarget(issued.target, pdfBytes(3000))).status).toBe(204);
    const error = await uploads.attach(fresh().avatar, issued.token, { subject: 'ada' }).catch((caught: unknown) => caught);
    expect(httpError(error)).toMatchObject({ status: 415 });
    await world.installation.sweep({ now: Date.now() + world.installation.ledger.gracePeriod + 1000 });
    const reloaded = await world.dataSource.manager.findOneByOrFail(world.Profile, { id: kept.id });
    expect(reloaded.avatar.name).toBe(kept.avatar.name);
    expect((await reloaded.avatar.open().read()).equals(pngBytes(1000))).toBe(true);
  }, TIMEOUT);

  it('the size limit: refused by the server where it enforces the policy, by attach otherwise', async () => {
    const profile = fresh();
    const issued = await uploads.issue(profile.avatar, { filename: 'huge.png' });
    const posted = await postToTarget(issued.target, pngBytes(MAX + 1));
    if (server().label === 's3rver') {
      // s3rver stores it regardless of the policy: attach is the check that holds.
      expect(posted.status).toBe(204);
      const error = await uploads.attach(profile.avatar, issued.token).catch((caught: unknown) => caught);
      expect(httpError(error)).toMatchObject({ status: 413, body: { error: { code: 'E_FILE_TOO_LARGE' } } });
      await world.installation.sweep();
    } else {
      expect(posted.status).toBe(400);
      expect(await posted.text()).toMatch(/EntityTooLarge/);
      await expect(uploads.attach(profile.avatar, issued.token)).rejects.toMatchObject({ code: 'E_MISSING_FILE' });
    }
    expect(await storage.exists('avatars/huge.png')).toBe(false);
    // Exactly the limit is accepted.
    const fits = await uploads.issue(profile.avatar, { filename: 'fits.png' });
    expect((await postToTarget(fits.target, pngBytes(MAX))).status).toBe(204);
    await expect(uploads.attach(profile.avatar, fits.token)).resolves.toMatchObject({ size: MAX });
  }, TIMEOUT);

  it('the server refuses a body declared with another content type, or for another key, where it enforces the policy', async () => {
    const issued = await uploads.issue(fresh().avatar, { filename: 'typed.png' });
    const retyped = await postToTarget({ ...issued.target, fields: { ...issued.target.fields, 'Content-Type': 'text/html' } }, pngBytes(100));
    const rekeyed = await postToTarget({ ...issued.target, fields: { ...issued.target.fields, key: `${storage.location}/avatars/someone-else.png` } }, pngBytes(100));
    if (server().label === 's3rver') {
      expect(retyped.status).toBe(204); // s3rver does not read the policy
    } else {
      expect(retyped.status).toBe(403);
      expect(rekeyed.status).toBe(403);
      expect(await storage.exists('avatars/someone-else.png')).toBe(false);
    }
  }, TIMEOUT);

  it('an upload never attached is swept once its claim expires', async () => {
    const issued = await uploads.issue(fresh().avatar, { filename: 'forgotten.png' });
    await postToTarget(issued.target, pngBytes(500));
    expect(await storage.exists('avatars/forgotten.png.upload')).toBe(true);
    // Not before the grace period: it might still be attached.
    await world.installation.sweep();
    expect(await storage.exists('avatars/forgotten.png.upload')).toBe(true);
    await world.installation.sweep({ now: Date.now() + world.installation.ledger.gracePeriod + 1000 });
    expect(await storage.exists('avatars/forgotten.png.upload')).toBe(false);
    // The attached and saved one stays.
    expect(await storage.exists('avatars/my_face.png')).toBe(true);
  }, TIMEOUT);
}

describeOnServers('direct uploads [sqlite]', (server) => suite('sqlite', server));
describeWith('postgres', 'direct uploads on PostgreSQL', () => {
  describeOnServers('direct uploads [postgres]', (server) => suite('postgres', server));
});

describe('direct uploads configuration', () => {
  it('refuses short secrets, a missing size limit, storages without targets, and an expiry past the grace period', async () => {
    expect(() => new DirectUploads({ secret: 'short', validators: [new FileSizeValidator({ maxSize: 1 })] })).toThrow(/at least 32 bytes/);
    expect(() => new DirectUploads({ secret: SECRET, validators: [] })).toThrow(/FileSizeValidator/);
    const location = await mkdtemp(join(tmpdir(), 'filefield-web-direct-'));
    try {
      const world = await openWorld('sqlite', new FileSystemStorage({ location }));
      try {
        expect(() => new DirectUploads({ secret: SECRET, validators: [new FileSizeValidator({ maxSize: 1 })], ledger: world.installation.ledger, expiresIn: 7200 })).toThrow(/grace period/);
        const uploads = new DirectUploads({ secret: SECRET, validators: [new FileSizeValidator({ maxSize: 1 })], ledger: world.installation.ledger });
        const error = await uploads.issue(new world.Profile().avatar, { filename: 'a.png' }).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(ConfigurationError);
        expect((error as Error).message).toMatch(/no direct upload target; take the upload through the app with receiveMultipart/);
      } finally {
        await world.close();
      }
    } finally {
      await rm(location, { recursive: true, force: true });
    }
  });
});
