/**
 * CloudFront signed URLs for the custom domain (django-storages' AWS_CLOUDFRONT_KEY and
 * AWS_CLOUDFRONT_KEY_ID), signed by `@aws-sdk/cloudfront-signer`: a canned policy (the URL and
 * its expiry) by default, a custom policy when a source IP range or a start time is given.
 *
 * The private key is parsed once into a `KeyObject`, which neither `util.inspect`, JSON nor an
 * error message can show; malformed keys are refused without echoing them.
 */
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { ConfigurationError } from '@filefield/core';
import { createPrivateKey, type KeyObject } from 'node:crypto';

/** The conditions of a CloudFront custom policy. Either one makes the URL carry `Policy=` instead of `Expires=`. */
export interface CloudFrontPolicy {
  /** The viewer's source IP address or IPv4 CIDR range, e.g. '192.0.2.0/24' (CloudFront's `AWS:SourceIp`). */
  ipAddress?: string;
  /** The URL is refused before this time (CloudFront's `DateGreaterThan`). */
  dateGreaterThan?: Date;
}

/** Signs URLs with one CloudFront key pair. */
export class CloudFrontSigner {
  readonly keyPairId: string;
  readonly #key: KeyObject;

  constructor(privateKey: string, keyPairId: string) {
    this.keyPairId = keyPairId;
    this.#key = parsePrivateKey(privateKey);
  }

  /** `url` signed to expire `expiresIn` seconds after `now`, with the custom policy's conditions if any. */
  sign(url: string, expiresIn: number, policy: CloudFrontPolicy = {}, now: Date = new Date()): string {
    return getSignedUrl({
      url,
      keyPairId: this.keyPairId,
      // The signer hands the key to crypto's sign(), which takes a KeyObject as well as a PEM.
      privateKey: this.#key as unknown as string,
      dateLessThan: new Date(now.getTime() + expiresIn * 1000),
      ...(policy.dateGreaterThan !== undefined ? { dateGreaterThan: policy.dateGreaterThan } : {}),
      ...(policy.ipAddress !== undefined ? { ipAddress: policy.ipAddress } : {}),
    });
  }

  /** Shown instead of the key by console.log and util.inspect. */
  toJSON(): { keyPairId: string } {
    return { keyPairId: this.keyPairId };
  }
}

/**
 * The PEM key (literal `\n` sequences, as .env files write one line, are read as newlines), or a
 * ConfigurationError that neither shows the key nor keeps the parser's error.
 */
function parsePrivateKey(pem: string): KeyObject {
  let key: KeyObject | undefined;
  try {
    key = createPrivateKey(pem.includes('\n') ? pem : pem.replace(/\\n/g, '\n'));
  } catch {
    key = undefined;
  }
  if (key === undefined || key.asymmetricKeyType !== 'rsa') {
    throw new ConfigurationError(
      '`cloudfrontKey` (AWS_CLOUDFRONT_KEY) must be the PEM text of the RSA private key of a CloudFront key pair ' +
        "('-----BEGIN PRIVATE KEY-----' or '-----BEGIN RSA PRIVATE KEY-----').",
    );
  }
  return key;
}

/** The policy's conditions checked (types, IP range shape, a valid date), naming the setting. */
export function checkCloudFrontPolicy(policy: unknown, setting: string): CloudFrontPolicy {
  if (policy === undefined) return {};
  if (policy === null || typeof policy !== 'object' || Array.isArray(policy)) {
    throw new ConfigurationError(`\`${setting}\` must be an object { ipAddress?, dateGreaterThan? }.`);
  }
  const { ipAddress, dateGreaterThan, ...rest } = policy as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new ConfigurationError(`\`${setting}\` knows ipAddress and dateGreaterThan, not ${unknown.map((key) => `'${key}'`).join(', ')}.`);
  }
  if (ipAddress !== undefined && (typeof ipAddress !== 'string' || !/^(\d{1,3}\.){3}\d{1,3}(\/\d{1,2})?$/.test(ipAddress))) {
    throw new ConfigurationError(`\`${setting}.ipAddress\` must be an IPv4 address or CIDR range such as '192.0.2.0/24', got '${String(ipAddress)}'.`);
  }
  if (dateGreaterThan !== undefined && (!(dateGreaterThan instanceof Date) || Number.isNaN(dateGreaterThan.getTime()))) {
    throw new ConfigurationError(`\`${setting}.dateGreaterThan\` must be a valid Date.`);
  }
  return { ipAddress: ipAddress as string | undefined, dateGreaterThan: dateGreaterThan as Date | undefined };
}
