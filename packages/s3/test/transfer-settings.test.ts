/**
 * The `transfer` option group and AWS_S3_TRANSFER_CONFIG (boto3 TransferConfig's names, as JSON):
 * what they resolve to, and the typed ConfigurationError for each bad value. No server: what the
 * uploads do with the settings is in transfer.test.ts.
 */
import { ConfigurationError } from '@filefield/core';
import { fromEnv, S3Storage, type S3StorageOptions } from '@filefield/s3';

const MiB = 1024 * 1024;
const valid: S3StorageOptions = { bucket: 'media', region: 'us-east-1', accessKeyId: 'AKID', secretAccessKey: 'super-secret-value' };

/** What a storage runs its uploads with. */
function transferOf(storage: S3Storage) {
  return storage['settings'].transfer;
}

function configurationError(work: () => unknown): ConfigurationError {
  let thrown: unknown;
  try {
    work();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ConfigurationError);
  expect(thrown).toMatchObject({ code: 'E_INVALID_CONFIG' });
  return thrown as ConfigurationError;
}

describe('transfer options', () => {
  it('default to 16 MiB threshold, 8 MiB parts, 4 in flight', () => {
    expect(transferOf(new S3Storage(valid))).toEqual({ multipartThreshold: 16 * MiB, partSize: 8 * MiB, concurrency: 4 });
  });

  it('take each setting of the group, the others keeping their defaults', () => {
    expect(transferOf(new S3Storage({ ...valid, transfer: { partSize: 12 * MiB } }))).toEqual({ multipartThreshold: 16 * MiB, partSize: 12 * MiB, concurrency: 4 });
    expect(transferOf(new S3Storage({ ...valid, transfer: { multipartThreshold: 1, concurrency: 10 } }))).toEqual({ multipartThreshold: 1, partSize: 8 * MiB, concurrency: 10 });
  });

  it('still take the flat options of earlier versions, but not together with the group key they alias', () => {
    expect(transferOf(new S3Storage({ ...valid, multipartThreshold: 5 * MiB, multipartPartSize: 6 * MiB, multipartConcurrency: 2 }))).toEqual({
      multipartThreshold: 5 * MiB,
      partSize: 6 * MiB,
      concurrency: 2,
    });
    const error = configurationError(() => new S3Storage({ ...valid, multipartPartSize: 6 * MiB, transfer: { partSize: 7 * MiB } }));
    expect(error.message).toMatch(/`multipartPartSize` and `transfer\.partSize` are the same setting/);
  });

  it.each<[string, unknown, RegExp]>([
    ['a part below S3 minimum', { partSize: 1024 }, /`transfer\.partSize`.*at least 5 MiB.*got 1024/],
    ['a part above S3 maximum', { partSize: 6 * 1024 * MiB }, /`transfer\.partSize` must be at most 5 GiB/],
    ['a fractional part size', { partSize: 5 * MiB + 0.5 }, /`transfer\.partSize`/],
    ['no parts in flight', { concurrency: 0 }, /`transfer\.concurrency`.*positive whole number.*got 0/],
    ['a fractional concurrency', { concurrency: 1.5 }, /`transfer\.concurrency`/],
    ['a concurrency given as a string', { concurrency: '4' }, /`transfer\.concurrency`.*got a string/],
    ['a negative threshold', { multipartThreshold: -1 }, /`transfer\.multipartThreshold`/],
    ['an unknown key', { queueSize: 4 }, /Invalid transfer setting 'queueSize'.*Known: multipartThreshold, partSize, concurrency/],
    ['a group that is no object', 8 * MiB, /`transfer` \(AWS_S3_TRANSFER_CONFIG\) must be an object/],
    ['a group that is null', null, /`transfer` \(AWS_S3_TRANSFER_CONFIG\) must be an object/],
  ])('refuse %s', (_, transfer, message) => {
    const error = configurationError(() => new S3Storage({ ...valid, transfer } as never));
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('super-secret-value');
  });

  it('name the flat option when that is what was given', () => {
    expect(configurationError(() => new S3Storage({ ...valid, multipartConcurrency: 0 })).message).toMatch(/`multipartConcurrency`/);
  });
});

describe('AWS_S3_TRANSFER_CONFIG', () => {
  it("reads boto3 TransferConfig's names from JSON", () => {
    const env = { AWS_S3_TRANSFER_CONFIG: '{"multipart_threshold": 10485760, "multipart_chunksize": 6291456, "max_concurrency": 3}' };
    expect(fromEnv(env)).toEqual({ transfer: { multipartThreshold: 10 * MiB, partSize: 6 * MiB, concurrency: 3 } });
    expect(transferOf(S3Storage.fromEnv({ ...env, AWS_STORAGE_BUCKET_NAME: 'media', AWS_S3_REGION_NAME: 'us-east-1' }))).toEqual({
      multipartThreshold: 10 * MiB,
      partSize: 6 * MiB,
      concurrency: 3,
    });
  });

  it('takes use_threads: false as one part at a time, as boto3 does', () => {
    expect(fromEnv({ AWS_S3_TRANSFER_CONFIG: '{"use_threads": false}' })).toEqual({ transfer: { concurrency: 1 } });
    expect(fromEnv({ AWS_S3_TRANSFER_CONFIG: '{"use_threads": true, "max_concurrency": 6}' })).toEqual({ transfer: { concurrency: 6 } });
  });

  it('is left out when unset or empty', () => {
    expect(fromEnv({ AWS_S3_TRANSFER_CONFIG: '  ' })).toEqual({});
  });

  it('lets an explicit override change one setting and keeps the others', () => {
    const env = { AWS_STORAGE_BUCKET_NAME: 'media', AWS_S3_REGION_NAME: 'us-east-1', AWS_S3_TRANSFER_CONFIG: '{"multipart_chunksize": 6291456, "max_concurrency": 3}' };
    expect(transferOf(S3Storage.fromEnv(env, { transfer: { concurrency: 8 } }))).toEqual({ multipartThreshold: 16 * MiB, partSize: 6 * MiB, concurrency: 8 });
  });

  it.each<[string, string, RegExp]>([
    ['malformed JSON', '{multipart_chunksize: 8}', /AWS_S3_TRANSFER_CONFIG must be a JSON object with boto3 TransferConfig's names/],
    ['a JSON array', '[8388608]', /AWS_S3_TRANSFER_CONFIG must be a JSON object/],
    ['a bare number', '8388608', /AWS_S3_TRANSFER_CONFIG must be a JSON object/],
    ['a size as a string', '{"multipart_chunksize": "8MB"}', /'multipart_chunksize' must be a positive whole number.*"8MB"/],
    ['a zero concurrency', '{"max_concurrency": 0}', /'max_concurrency' must be a positive whole number/],
    ['a fractional threshold', '{"multipart_threshold": 1.5}', /'multipart_threshold' must be a positive whole number/],
    ['a TransferConfig key the driver does not have', '{"io_chunksize": 262144}', /'io_chunksize' is not supported; the driver takes multipart_threshold, multipart_chunksize, max_concurrency and use_threads/],
    ['our own option names', '{"partSize": 8388608}', /'partSize' is not supported/],
    ['use_threads that is no boolean', '{"use_threads": "no"}', /'use_threads' must be true or false/],
    ['use_threads: false with several parts in flight', '{"use_threads": false, "max_concurrency": 4}', /'use_threads': false sends one part at a time/],
  ])('refuses %s', (_, value, message) => {
    expect(configurationError(() => fromEnv({ AWS_S3_TRANSFER_CONFIG: value })).message).toMatch(message);
  });

  it('passes a part size below the minimum on to the constructor, which refuses it', () => {
    const env = { AWS_STORAGE_BUCKET_NAME: 'media', AWS_S3_REGION_NAME: 'us-east-1', AWS_S3_TRANSFER_CONFIG: '{"multipart_chunksize": 1048576}' };
    expect(configurationError(() => S3Storage.fromEnv(env)).message).toMatch(/`transfer\.partSize` \(multipart_chunksize in AWS_S3_TRANSFER_CONFIG\) must be a whole number of at least 5 MiB/);
  });
});
