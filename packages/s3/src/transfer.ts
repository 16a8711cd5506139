/**
 * Upload transfer settings: the `transfer` option group and django-storages'
 * AWS_S3_TRANSFER_CONFIG (a boto3 `TransferConfig`, here as JSON with boto3's key names).
 * Defaults measured with bench/s3 and bench/compare on radosgw (see the README).
 */
import { ConfigurationError } from '@filefield/core';

const MiB = 1024 * 1024;

/** S3's smallest part (except the last). */
export const MIN_PART_SIZE = 5 * MiB;
/** S3's largest part. */
export const MAX_PART_SIZE = 5 * 1024 * MiB;

export interface TransferOptions {
  /** Bodies of known size up to this many bytes go in one PutObject (boto3 `multipart_threshold`; default 16 MiB). */
  multipartThreshold?: number;
  /** Bytes per multipart part (boto3 `multipart_chunksize`; default 8 MiB, 5 MiB to 5 GiB). */
  partSize?: number;
  /** Parts in flight per upload (boto3 `max_concurrency`; default 4). */
  concurrency?: number;
}

export type ResolvedTransfer = Required<TransferOptions>;

export const DEFAULT_TRANSFER: ResolvedTransfer = { multipartThreshold: 16 * MiB, partSize: 8 * MiB, concurrency: 4 };

/** The flat options of earlier versions, each the same setting as one key of `transfer`. */
const FLAT: ReadonlyArray<readonly [flat: 'multipartThreshold' | 'multipartPartSize' | 'multipartConcurrency', key: keyof TransferOptions]> = [
  ['multipartThreshold', 'multipartThreshold'],
  ['multipartPartSize', 'partSize'],
  ['multipartConcurrency', 'concurrency'],
];

type WithTransfer = {
  transfer?: TransferOptions;
  multipartThreshold?: number;
  multipartPartSize?: number;
  multipartConcurrency?: number;
};

const KEYS: ReadonlyArray<keyof TransferOptions> = ['multipartThreshold', 'partSize', 'concurrency'];

/** `transfer` (and the flat options) with defaults, or a ConfigurationError naming the setting. */
export function resolveTransfer(options: WithTransfer): ResolvedTransfer {
  const transfer: unknown = options.transfer === undefined ? {} : options.transfer;
  if (transfer === null || typeof transfer !== 'object' || Array.isArray(transfer)) {
    throw new ConfigurationError('`transfer` (AWS_S3_TRANSFER_CONFIG) must be an object such as { partSize: 8388608, concurrency: 4 }.');
  }
  const given = transfer as Record<string, unknown>;
  const unknown = Object.keys(given).filter((key) => !(KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw new ConfigurationError(`Invalid transfer setting${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}. Known: ${KEYS.join(', ')}.`);
  }
  const merged: Record<string, unknown> = { ...given };
  // The name a message shows: the option as the caller spelled it.
  const names: Record<keyof TransferOptions, string> = { multipartThreshold: 'transfer.multipartThreshold', partSize: 'transfer.partSize', concurrency: 'transfer.concurrency' };
  for (const [flat, key] of FLAT) {
    if (options[flat] === undefined) continue;
    if (given[key] !== undefined) {
      throw new ConfigurationError(`\`${flat}\` and \`transfer.${key}\` are the same setting; set only \`transfer.${key}\`.`);
    }
    merged[key] = options[flat];
    names[key] = flat;
  }
  const resolved: ResolvedTransfer = {
    multipartThreshold: whole(names.multipartThreshold, merged.multipartThreshold, DEFAULT_TRANSFER.multipartThreshold, 1),
    partSize: whole(names.partSize, merged.partSize, DEFAULT_TRANSFER.partSize, MIN_PART_SIZE),
    concurrency: whole(names.concurrency, merged.concurrency, DEFAULT_TRANSFER.concurrency, 1),
  };
  if (resolved.partSize > MAX_PART_SIZE) {
    throw new ConfigurationError(`\`${names.partSize}\` must be at most 5 GiB (${MAX_PART_SIZE} bytes), S3's largest part; got ${resolved.partSize}.`);
  }
  return resolved;
}

function whole(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    const limit = min > 1 ? `a whole number of at least 5 MiB (${min} bytes), S3's smallest part` : 'a positive whole number';
    const boto3 = Object.keys(BOTO3_KEYS).find((key) => `transfer.${BOTO3_KEYS[key]}` === name);
    const variable = boto3 === undefined ? '' : ` (${boto3} in AWS_S3_TRANSFER_CONFIG)`;
    throw new ConfigurationError(`\`${name}\`${variable} must be ${limit}; got ${typeof value === 'number' ? value : `a ${typeof value}`}.`);
  }
  return value;
}

/** boto3 TransferConfig key → `transfer` key. */
const BOTO3_KEYS: Readonly<Record<string, keyof TransferOptions>> = {
  multipart_threshold: 'multipartThreshold',
  multipart_chunksize: 'partSize',
  max_concurrency: 'concurrency',
};

/**
 * AWS_S3_TRANSFER_CONFIG: a JSON object with boto3 TransferConfig's names, e.g.
 * `{"multipart_threshold": 16777216, "multipart_chunksize": 8388608, "max_concurrency": 4}`;
 * `"use_threads": false` means one part at a time, as in boto3. Other TransferConfig keys
 * (io_chunksize, max_io_queue, max_bandwidth, ...) tune what the driver does not have and are refused.
 */
export function transferFromEnv(json: string | undefined): TransferOptions | undefined {
  if (json === undefined) return undefined;
  const example = 'e.g. {"multipart_threshold": 16777216, "multipart_chunksize": 8388608, "max_concurrency": 4}';
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ConfigurationError(`AWS_S3_TRANSFER_CONFIG must be a JSON object with boto3 TransferConfig's names, ${example}.`, { cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(`AWS_S3_TRANSFER_CONFIG must be a JSON object with boto3 TransferConfig's names, ${example}.`);
  }
  const transfer: TransferOptions = {};
  let threads: unknown;
  for (const [name, setting] of Object.entries(value)) {
    if (name === 'use_threads') {
      threads = setting;
      continue;
    }
    const key = BOTO3_KEYS[name];
    if (key === undefined) {
      throw new ConfigurationError(
        `AWS_S3_TRANSFER_CONFIG: '${name}' is not supported; the driver takes ${Object.keys(BOTO3_KEYS).join(', ')} and use_threads.`,
      );
    }
    if (typeof setting !== 'number' || !Number.isSafeInteger(setting) || setting <= 0) {
      throw new ConfigurationError(`AWS_S3_TRANSFER_CONFIG: '${name}' must be a positive whole number (bytes or a count), got ${JSON.stringify(setting)}.`);
    }
    transfer[key] = setting;
  }
  if (threads !== undefined) {
    if (typeof threads !== 'boolean') throw new ConfigurationError(`AWS_S3_TRANSFER_CONFIG: 'use_threads' must be true or false, got ${JSON.stringify(threads)}.`);
    if (!threads) {
      if (transfer.concurrency !== undefined && transfer.concurrency !== 1) {
        throw new ConfigurationError("AWS_S3_TRANSFER_CONFIG: 'use_threads': false sends one part at a time; drop 'max_concurrency' or set it to 1.");
      }
      transfer.concurrency = 1;
    }
  }
  return transfer;
}
