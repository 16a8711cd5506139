/**
 * Temporary credentials (AWS_SESSION_TOKEN, and boto's older AWS_SECURITY_TOKEN) and a named
 * profile of the shared config files (AWS_S3_SESSION_PROFILE), on s3rver and the external server.
 * The profiles live in files the test writes, found through AWS_SHARED_CREDENTIALS_FILE and
 * AWS_CONFIG_FILE as the SDK's fromIni finds them. Refused credentials are PermissionDeniedError
 * without the secret key or the token anywhere in the error.
 */
import { ConfigurationError, PermissionDeniedError } from '@filefield/core';
import { fromEnv, S3Storage } from '@filefield/s3';
import { recordRequests } from '@filefield/s3/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expectNoSecret } from './support/secrets';
import { describeOnServers } from './support/servers';

const TOKEN = 'FwoGZXIvYXdzEFILEFIELDSESSIONTOKENEXAMPLE0123456789';

describe('session tokens from the environment', () => {
  it('reads AWS_SECURITY_TOKEN as the session token; AWS_SESSION_TOKEN wins when both are set', () => {
    expect(fromEnv({ AWS_ACCESS_KEY_ID: 'k', AWS_SECRET_ACCESS_KEY: 's', AWS_SECURITY_TOKEN: 'old-name' }).sessionToken).toBe('old-name');
    expect(fromEnv({ AWS_SECURITY_TOKEN: 'old-name', AWS_SESSION_TOKEN: 'new-name' }).sessionToken).toBe('new-name');
    expect(fromEnv({ AWS_S3_SESSION_PROFILE: 'media' }).sessionProfile).toBe('media');
  });

  it("prefers django-storages' AWS_S3_ACCESS_KEY_ID / AWS_S3_SECRET_ACCESS_KEY over the SDK-wide names", () => {
    expect(fromEnv({ AWS_ACCESS_KEY_ID: 'sdk', AWS_SECRET_ACCESS_KEY: 'sdk-secret' })).toEqual({ accessKeyId: 'sdk', secretAccessKey: 'sdk-secret' });
    expect(
      fromEnv({ AWS_ACCESS_KEY_ID: 'sdk', AWS_SECRET_ACCESS_KEY: 'sdk-secret', AWS_S3_ACCESS_KEY_ID: 's3', AWS_S3_SECRET_ACCESS_KEY: 's3-secret' }),
    ).toEqual({ accessKeyId: 's3', secretAccessKey: 's3-secret' });
  });

  it('refuses a profile together with keys, and malformed profile names', () => {
    expect(() => new S3Storage({ bucket: 'b', sessionProfile: 'media', accessKeyId: 'k', secretAccessKey: 's' })).toThrow(ConfigurationError);
    expect(() => new S3Storage({ bucket: 'b', sessionProfile: 'media', credentials: { accessKeyId: 'k', secretAccessKey: 's' } })).toThrow(
      /AWS_S3_SESSION_PROFILE/,
    );
    expect(() => new S3Storage({ bucket: 'b', sessionProfile: 'two words' })).toThrow(/sessionProfile/);
  });
});

describeOnServers('temporary credentials and shared-config profiles', (server) => {
  let directory: string;
  const saved: Record<string, string | undefined> = {};
  const variables = ['AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE', 'AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];
  let files = 0;

  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'filefield-aws-config-'));
    for (const name of variables) saved[name] = process.env[name];
  });
  afterEach(() => {
    for (const name of variables) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  /** Fresh files per test (the SDK caches parsed files by path), made the SDK's shared files. */
  const writeSharedFiles = (credentials: string, config = '') => {
    files += 1;
    const credentialsFile = join(directory, `credentials-${files}`);
    const configFile = join(directory, `config-${files}`);
    writeFileSync(credentialsFile, credentials);
    writeFileSync(configFile, config);
    process.env.AWS_SHARED_CREDENTIALS_FILE = credentialsFile;
    process.env.AWS_CONFIG_FILE = configFile;
    for (const name of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete process.env[name];
  };
  const withoutKeys = (location: string) => {
    const { accessKeyId, secretAccessKey, ...rest } = server().options({ location });
    return { rest, accessKeyId: accessKeyId!, secretAccessKey: secretAccessKey! };
  };

  it('uses the keys of a named profile in the shared credentials file (AWS_S3_SESSION_PROFILE)', async () => {
    const { rest, accessKeyId, secretAccessKey } = withoutKeys('profile');
    writeSharedFiles(
      `[default]\naws_access_key_id = NOT-THE-KEY\naws_secret_access_key = not-the-secret\n\n` +
        `[media]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}\n`,
    );
    const storage = S3Storage.fromEnv({ AWS_S3_SESSION_PROFILE: 'media' }, rest);
    await storage.save('a.txt', 'signed with the profile');
    expect((await storage.open('a.txt').read()).toString()).toBe('signed with the profile');
    // The default profile's key is not one the server knows: it was not used above, and is refused here.
    const fallback = new S3Storage({ ...rest, sessionProfile: 'default' });
    const error = await fallback.exists('a.txt').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expectNoSecret(error, 'not-the-secret');
  });

  it('reads a profile of the config file ([profile name]) too', async () => {
    const { rest, accessKeyId, secretAccessKey } = withoutKeys('profile');
    writeSharedFiles('', `[profile uploads]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}\nregion = us-east-1\n`);
    const storage = new S3Storage({ ...rest, sessionProfile: 'uploads' });
    await storage.save('b.txt', 'from the config file');
    expect(await storage.exists('b.txt')).toBe(true);
  });

  it('says which setting to fix for a profile that does not exist', async () => {
    const { rest } = withoutKeys('profile');
    writeSharedFiles('[other]\naws_access_key_id = x\naws_secret_access_key = y\n');
    await expect(new S3Storage({ ...rest, sessionProfile: 'missing' }).exists('a.txt')).rejects.toBeInstanceOf(ConfigurationError);
  });

  it('sends the session token as X-Amz-Security-Token, from a profile and from the options', async () => {
    const { rest, accessKeyId, secretAccessKey } = withoutKeys('token');
    writeSharedFiles(`[temporary]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${secretAccessKey}\naws_session_token = ${TOKEN}\n`);
    for (const storage of [new S3Storage({ ...rest, sessionProfile: 'temporary' }), new S3Storage({ ...rest, accessKeyId, secretAccessKey, sessionToken: TOKEN })]) {
      const log = recordRequests(storage.client);
      const outcome = await storage.exists('t.txt').catch((error: unknown) => error);
      expect(log.requests[0].headers['x-amz-security-token']).toBe(TOKEN);
      // Presigned URLs carry it too.
      expect(new URL(await storage.url('t.txt')).searchParams.get('X-Amz-Security-Token')).toBe(TOKEN);
      // Neither s3rver nor radosgw without STS checks the token of a user's own key: the call works.
      expect(outcome).toBe(false);
    }
    if (!server().verifiesSignatures) return;
    // With a wrong secret the request is refused, and neither the secret nor the token shows.
    const wrong = new S3Storage({ ...rest, accessKeyId, secretAccessKey: 'wrong-secret-key-with-token-42', sessionToken: TOKEN });
    const error = await wrong.save('t.txt', 't').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expectNoSecret(error, [TOKEN, 'wrong-secret-key-with-token-42']);
  });

  it('reads a session token from AWS_SECURITY_TOKEN and sends it', async () => {
    const { rest, accessKeyId, secretAccessKey } = withoutKeys('token');
    const storage = S3Storage.fromEnv(
      { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SECURITY_TOKEN: TOKEN },
      rest,
    );
    const log = recordRequests(storage.client);
    await storage.exists('t.txt').catch(() => undefined);
    expect(log.requests[0].headers['x-amz-security-token']).toBe(TOKEN);
  });

  it('refuses a wrong secret key from a profile with PermissionDeniedError (servers that verify signatures)', async () => {
    if (!server().verifiesSignatures) return; // s3rver does not verify SigV4 signatures
    const { rest, accessKeyId } = withoutKeys('profile');
    writeSharedFiles(`[wrong]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = wrong-secret-key-0123456789\n`);
    const error = await new S3Storage({ ...rest, sessionProfile: 'wrong' }).save('w.txt', 'w').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expectNoSecret(error, 'wrong-secret-key-0123456789');
  });
});
