/**
 * The one place that reads django-storages' environment variables (AWS_STORAGE_BUCKET_NAME,
 * AWS_S3_ENDPOINT_URL, ...) into `S3StorageOptions`. Unset or empty variables are left out, so
 * the constructor's defaults apply; malformed values are a ConfigurationError naming the variable.
 */
import type { ObjectCannedACL } from '@aws-sdk/client-s3';
import { ConfigurationError } from '@filefield/core';
import type { AddressingStyle, ObjectParameters, S3StorageOptions, SignatureVersion } from './options';
import { transferFromEnv } from './transfer';

type Env = Record<string, string | undefined>;

/** Every variable `fromEnv` reads, with the option it sets (for docs and error messages). */
export const ENVIRONMENT_VARIABLES = {
  AWS_ACCESS_KEY_ID: 'accessKeyId',
  AWS_SECRET_ACCESS_KEY: 'secretAccessKey',
  AWS_SESSION_TOKEN: 'sessionToken',
  AWS_SECURITY_TOKEN: 'sessionToken',
  AWS_S3_ACCESS_KEY_ID: 'accessKeyId',
  AWS_S3_SECRET_ACCESS_KEY: 'secretAccessKey',
  AWS_S3_SESSION_PROFILE: 'sessionProfile',
  AWS_STORAGE_BUCKET_NAME: 'bucket',
  AWS_DEFAULT_ACL: 'defaultAcl',
  AWS_AUTO_CREATE_BUCKET: 'autoCreateBucket',
  AWS_S3_OBJECT_PARAMETERS: 'objectParameters',
  AWS_HEADERS: 'objectParameters',
  AWS_QUERYSTRING_AUTH: 'querystringAuth',
  AWS_QUERYSTRING_EXPIRE: 'querystringExpire',
  AWS_S3_ENCRYPTION: 'encryption',
  AWS_S3_KMS_KEY_ID: 'kmsKeyId',
  AWS_S3_FILE_OVERWRITE: 'fileOverwrite',
  AWS_LOCATION: 'location',
  AWS_IS_GZIPPED: 'gzip',
  GZIP_CONTENT_TYPES: 'gzipContentTypes',
  AWS_S3_REGION_NAME: 'region',
  AWS_S3_ENDPOINT_URL: 'endpointUrl',
  AWS_S3_USE_SSL: 'useSsl',
  AWS_S3_ADDRESSING_STYLE: 'addressingStyle',
  AWS_S3_CALLING_FORMAT: 'addressingStyle',
  AWS_S3_SIGNATURE_VERSION: 'signatureVersion',
  AWS_S3_CUSTOM_DOMAIN: 'customDomain',
  AWS_S3_URL_PROTOCOL: 'urlProtocol',
  AWS_S3_CONDITIONAL_WRITES: 'conditionalWrites',
  AWS_S3_CONNECT_TIMEOUT: 'connectTimeout',
  AWS_S3_READ_TIMEOUT: 'readTimeout',
  AWS_S3_MAX_POOL_CONNECTIONS: 'maxPoolConnections',
  AWS_S3_PROXIES: 'proxies',
  AWS_S3_VERIFY: 'verify',
  AWS_S3_CLIENT_CONFIG: 'clientConfig',
  AWS_CLOUDFRONT_KEY: 'cloudfrontKey',
  AWS_CLOUDFRONT_KEY_ID: 'cloudfrontKeyId',
  AWS_S3_TRANSFER_CONFIG: 'transfer',
} as const satisfies Record<string, keyof S3StorageOptions>;

/** Options from the environment (only the variables that are set). */
export function fromEnv(env: Env = process.env): Partial<S3StorageOptions> {
  const read = (name: keyof typeof ENVIRONMENT_VARIABLES): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const options: Partial<S3StorageOptions> = {};
  const set = <K extends keyof S3StorageOptions>(key: K, value: S3StorageOptions[K] | undefined) => {
    if (value !== undefined) options[key] = value;
  };

  // django-storages' own AWS_S3_* names win over the SDK-wide ones, as there.
  set('accessKeyId', read('AWS_S3_ACCESS_KEY_ID') ?? read('AWS_ACCESS_KEY_ID'));
  // The secret is passed through untouched: never trimmed into an error message.
  set('secretAccessKey', env.AWS_S3_SECRET_ACCESS_KEY || env.AWS_SECRET_ACCESS_KEY || undefined);
  // AWS_SECURITY_TOKEN is the older name boto still reads; AWS_SESSION_TOKEN wins when both are set.
  set('sessionToken', read('AWS_SESSION_TOKEN') ?? read('AWS_SECURITY_TOKEN'));
  set('sessionProfile', read('AWS_S3_SESSION_PROFILE'));
  set('bucket', read('AWS_STORAGE_BUCKET_NAME'));
  set('defaultAcl', read('AWS_DEFAULT_ACL') as ObjectCannedACL | undefined);
  set('autoCreateBucket', bool('AWS_AUTO_CREATE_BUCKET', read('AWS_AUTO_CREATE_BUCKET')));
  set('objectParameters', objectParameters(read('AWS_S3_OBJECT_PARAMETERS'), read('AWS_HEADERS')));
  set('querystringAuth', bool('AWS_QUERYSTRING_AUTH', read('AWS_QUERYSTRING_AUTH')));
  set('querystringExpire', integer('AWS_QUERYSTRING_EXPIRE', read('AWS_QUERYSTRING_EXPIRE')));
  set('encryption', encryption(read('AWS_S3_ENCRYPTION')));
  set('kmsKeyId', read('AWS_S3_KMS_KEY_ID'));
  set('fileOverwrite', bool('AWS_S3_FILE_OVERWRITE', read('AWS_S3_FILE_OVERWRITE')));
  set('location', read('AWS_LOCATION'));
  set('gzip', bool('AWS_IS_GZIPPED', read('AWS_IS_GZIPPED')));
  set('gzipContentTypes', read('GZIP_CONTENT_TYPES')?.split(',').map((type) => type.trim()).filter(Boolean));
  set('region', read('AWS_S3_REGION_NAME'));
  set('endpointUrl', read('AWS_S3_ENDPOINT_URL'));
  set('useSsl', bool('AWS_S3_USE_SSL', read('AWS_S3_USE_SSL')));
  set('addressingStyle', addressingStyle(read('AWS_S3_ADDRESSING_STYLE'), read('AWS_S3_CALLING_FORMAT')));
  set('signatureVersion', read('AWS_S3_SIGNATURE_VERSION') as SignatureVersion | undefined);
  set('customDomain', read('AWS_S3_CUSTOM_DOMAIN'));
  const protocol = read('AWS_S3_URL_PROTOCOL');
  set('urlProtocol', protocol === undefined ? undefined : ((protocol.endsWith(':') ? protocol : `${protocol}:`) as 'https:' | 'http:'));
  const conditional = read('AWS_S3_CONDITIONAL_WRITES');
  set('conditionalWrites', conditional === undefined || conditional.toLowerCase() === 'auto' ? undefined : bool('AWS_S3_CONDITIONAL_WRITES', conditional));
  set('connectTimeout', milliseconds('AWS_S3_CONNECT_TIMEOUT', read('AWS_S3_CONNECT_TIMEOUT')));
  set('readTimeout', milliseconds('AWS_S3_READ_TIMEOUT', read('AWS_S3_READ_TIMEOUT')));
  set('maxPoolConnections', count('AWS_S3_MAX_POOL_CONNECTIONS', read('AWS_S3_MAX_POOL_CONNECTIONS')));
  set('proxies', secretJsonObject('AWS_S3_PROXIES', read('AWS_S3_PROXIES'), '{"https": "http://proxy.internal:3128"}') as S3StorageOptions['proxies']);
  set('verify', verify(read('AWS_S3_VERIFY')));
  set('clientConfig', secretJsonObject('AWS_S3_CLIENT_CONFIG', read('AWS_S3_CLIENT_CONFIG'), '{"maxAttempts": 5}') as S3StorageOptions['clientConfig']);
  set('cloudfrontKey', read('AWS_CLOUDFRONT_KEY'));
  set('cloudfrontKeyId', read('AWS_CLOUDFRONT_KEY_ID'));
  set('transfer', transferFromEnv(read('AWS_S3_TRANSFER_CONFIG')));
  return options;
}

function bool(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  throw new ConfigurationError(`${name} must be true or false (or 1/0, yes/no, on/off), got '${value}'.`);
}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new ConfigurationError(`${name} must be a whole number of seconds, got '${value}'.`);
  return Number(value);
}

/** Seconds, as botocore's connect_timeout/read_timeout ('5', '0.5', '.5'), to whole milliseconds. */
function milliseconds(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^(\d+\.?\d*|\.\d+)$/.test(value)) {
    throw new ConfigurationError(`${name} must be a number of seconds such as 10 or 0.5 (0 = no limit), got '${value}'.`);
  }
  const seconds = Number(value);
  // Rounded to whole milliseconds, but a positive limit never becomes 0 (no limit).
  return seconds === 0 ? 0 : Math.max(1, Math.round(seconds * 1000));
}

function count(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) === 0) throw new ConfigurationError(`${name} must be a positive whole number, got '${value}'.`);
  return Number(value);
}

function encryption(value: string | undefined): S3StorageOptions['encryption'] {
  if (value === undefined) return undefined;
  if (value === 'AES256' || value === 'aws:kms') return value;
  return bool('AWS_S3_ENCRYPTION', value);
}

function addressingStyle(style: string | undefined, callingFormat: string | undefined): AddressingStyle | undefined {
  if (style !== undefined) return style as AddressingStyle;
  if (callingFormat === undefined) return undefined;
  // boto's calling formats: OrdinaryCallingFormat is path style; Subdomain/VHost are virtual-hosted.
  if (/ordinary|^path$/i.test(callingFormat)) return 'path';
  if (/subdomain|vhost|^virtual$/i.test(callingFormat)) return 'virtual';
  throw new ConfigurationError(
    `AWS_S3_CALLING_FORMAT must be OrdinaryCallingFormat (path), SubdomainCallingFormat or VHostCallingFormat (virtual), got '${callingFormat}'.`,
  );
}

/** AWS_S3_OBJECT_PARAMETERS ({"CacheControl": ...}) merged over AWS_HEADERS ({"Cache-Control": ...}). */
function objectParameters(parametersJson: string | undefined, headersJson: string | undefined): ObjectParameters | undefined {
  if (parametersJson === undefined && headersJson === undefined) return undefined;
  const headers = headersJson === undefined ? {} : parseJsonObject('AWS_HEADERS', headersJson);
  const parameters = parametersJson === undefined ? {} : parseJsonObject('AWS_S3_OBJECT_PARAMETERS', parametersJson);
  const merged: Record<string, unknown> = {};
  // 'Cache-Control' → 'CacheControl', as boto3 names the parameter.
  for (const [header, value] of Object.entries(headers)) merged[header.replace(/-/g, '')] = value;
  Object.assign(merged, parameters);
  if (typeof merged.Expires === 'string') merged.Expires = new Date(merged.Expires);
  return merged as ObjectParameters;
}

/** AWS_S3_VERIFY: true/false as booleans (django-storages' None/False), anything else a CA bundle path. */
function verify(value: string | undefined): boolean | string | undefined {
  if (value === undefined) return undefined;
  const lower = value.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  return value;
}

/**
 * A JSON object from a variable that may hold credentials (a proxy's user:password, keys in a
 * client config): the parser's error, which quotes the input, is not kept.
 */
function secretJsonObject(name: string, json: string | undefined, example: string): Record<string, unknown> | undefined {
  if (json === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(`${name} must be a JSON object, e.g. ${example}.`);
  }
  return value as Record<string, unknown>;
}

function parseJsonObject(name: string, json: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new ConfigurationError(`${name} must be a JSON object, e.g. {"CacheControl": "max-age=86400"}.`, { cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(`${name} must be a JSON object, e.g. {"CacheControl": "max-age=86400"}.`);
  }
  return value as Record<string, unknown>;
}
