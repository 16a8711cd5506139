/**
 * Builds the SDK client from the storage options: region, endpoint, SSL, addressing style,
 * credentials (keys, provider or a shared-config profile), checksum policy, signature version,
 * timeouts, connection pool, proxies and TLS verification, then `clientConfig` over the defaults.
 * An injected client is used as is.
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { fromIni } from '@aws-sdk/credential-providers';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { Agent as HttpAgent, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { connectTimeoutError } from './errors';
import { type NetworkSettings, networkSettings } from './network';
import { type ConnectionSettings, connectionSettings, parseEndpoint, type S3StorageOptions } from './options';
import { sigV2AuthSchemes } from './signature-v2';

export const DEFAULT_REGION = 'us-east-1';

const SILENT_LOGGER = { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** The warning's code, for `process.on('warning')` filters and `--disable-warning`. */
export const POOL_EXHAUSTED_WARNING = 'FILEFIELD_S3_POOL_EXHAUSTED';
/** A request waiting this long for a pooled connection is worth a warning; shorter waits are bursts. */
const POOL_WAIT_WARNING_MS = 1000;
/** At most one pool warning per storage in this interval. */
const POOL_WARNING_INTERVAL_MS = 60_000;

export function buildClient(options: S3StorageOptions): S3Client {
  const endpoint = options.endpointUrl === undefined ? undefined : parseEndpoint(options.endpointUrl);
  const addressingStyle = options.addressingStyle ?? (endpoint ? 'path' : 'auto');
  const connection = connectionSettings(options);
  const network = networkSettings(options);
  const config: S3ClientConfig = {
    region: options.region ?? DEFAULT_REGION,
    // Without an explicit region, follow S3's redirect to the bucket's real region (boto3 does too).
    followRegionRedirects: options.region === undefined && endpoint === undefined,
    forcePathStyle: addressingStyle === 'path',
    requestHandler:
      options.clientConfig?.requestHandler ?? requestHandler(connection, network, `bucket '${options.bucket}'${endpoint ? ` at ${endpoint.origin}` : ''}`),
    // As silent as the SDK's default logger, which its retry middleware bypasses for one message:
    // "An error was encountered in a non-retryable streaming request", printed to the console
    // for every failed streamed upload, although the driver retries those itself (retries.ts).
    logger: SILENT_LOGGER,
  };
  if (endpoint) {
    // The endpoint's scheme decides http/https; `useSsl` only applies to AWS endpoints (as in the seed).
    config.endpoint = endpoint.href.replace(/\/$/, '');
  } else if (options.useSsl === false) {
    config.tls = false;
  }
  if (options.accessKeyId !== undefined && options.secretAccessKey !== undefined) {
    config.credentials = {
      accessKeyId: options.accessKeyId,
      secretAccessKey: options.secretAccessKey,
      ...(options.sessionToken ? { sessionToken: options.sessionToken } : {}),
    };
  } else if (options.credentials !== undefined) {
    config.credentials = options.credentials;
  } else if (options.sessionProfile !== undefined) {
    config.credentials = fromIni({ profile: options.sessionProfile });
  }
  // S3-compatible servers (radosgw, s3rver, older MinIO) reject the aws-chunked bodies with
  // trailing checksums the SDK sends by default since 3.729 (radosgw answers 411).
  const checksums = options.requestChecksumCalculation ?? (endpoint ? 'WHEN_REQUIRED' : undefined);
  if (checksums !== undefined) {
    config.requestChecksumCalculation = checksums;
    config.responseChecksumValidation = checksums;
  }
  if (options.signatureVersion === 's3') {
    config.httpAuthSchemes = sigV2AuthSchemes(options.bucket);
  }
  // No key of clientConfig is set by an option as well (checked in options.ts): it replaces defaults only.
  const client = new S3Client({ ...config, ...options.clientConfig });
  // The SDK logs every command's input and output, each run through its schema's redaction
  // filter, to any logger that is not its NoOpLogger: a tenth of a millisecond of CPU per request
  // for a logger that prints nothing. With a logger of the app's own (clientConfig), it stays.
  if (client.config.logger === SILENT_LOGGER) client.middlewareStack.remove('loggerMiddleware');
  return client;
}

/**
 * The SDK's Node handler with this storage's own agents.
 *
 * - The read timeout is the handler's `socketTimeout`: an idle limit on the socket, from the
 *   connection on (TLS handshake, request, waiting for the answer, reading the body), as botocore's
 *   `read_timeout` is. Its `requestTimeout` is not used: it bounds the time to the response headers
 *   including the upload of the body, which would fail large uploads on slow links.
 * - The connect timeout is enforced by the agents, not by the handler's `connectionTimeout`: that
 *   one starts when the request is created, so a request queued behind a busy pool would fail as
 *   a "connect" timeout while no connection was even attempted; it also stops at TCP connect,
 *   before the TLS handshake (botocore's `connect_timeout` covers the handshake).
 * - The agents are the handler's defaults (keep-alive, `maxSockets` 50) made ours, so that pool
 *   exhaustion is reported (see `watchPool`). Being "external" agents, they also carry the
 *   requests with `Expect: 100-continue`, for which the handler would otherwise open one-off
 *   connections outside the pool and its limit.
 * - The handler's own pool check warns only once 2 × maxSockets requests queue, through
 *   console.warn; its logger is silenced so the same condition is not reported twice.
 */
function requestHandler(connection: ConnectionSettings, network: NetworkSettings, what: string): NodeHttpHandler {
  const watch = new PoolWatch(what, connection.maxPoolConnections);
  const agentOptions = { keepAlive: true, maxSockets: connection.maxPoolConnections };
  const { proxies, tls } = network;
  const httpAgent = proxies.http
    ? instrumentProxy(new HttpProxyAgent(proxies.http, { ...agentOptions, ...tls }), connection.connectTimeout, false, watch)
    : instrument(new HttpAgent(agentOptions), connection.connectTimeout, false, watch);
  const httpsAgent = proxies.https
    ? instrumentProxy(tunnelling(new HttpsProxyAgent(proxies.https, { ...agentOptions, ...tls }), tls), connection.connectTimeout, true, watch)
    : instrument(new HttpsAgent({ ...agentOptions, ...tls }), connection.connectTimeout, true, watch);
  return new NodeHttpHandler({
    socketTimeout: connection.readTimeout === 0 ? undefined : connection.readTimeout,
    httpAgent,
    httpsAgent,
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
}

/** The parts of Node's Agent that are stable but not in its type declarations. */
interface AgentInternals {
  addRequest(request: ClientRequest, options: object): void;
  createConnection(options: { host?: string; port?: number | string }, callback?: unknown): Socket | undefined | null;
  readonly requests: Record<string, ClientRequest[] | undefined>;
}

function instrument<A extends HttpAgent>(agent: A, connectTimeout: number, tls: boolean, watch: PoolWatch): A {
  const internals = agent as unknown as AgentInternals;
  const createConnection = internals.createConnection;
  internals.createConnection = function (this: AgentInternals, options, callback) {
    const socket = createConnection.call(this, options, callback);
    if (socket && connectTimeout > 0) limitConnect(socket, connectTimeout, tls, options.host ?? 'localhost', options.port ?? (tls ? 443 : 80));
    return socket;
  };
  const addRequest = internals.addRequest;
  internals.addRequest = function (this: AgentInternals, request, options) {
    addRequest.call(this, request, options);
    watch.added(this, request);
  };
  return agent;
}

/**
 * The TLS options for the connection to the endpoint inside the CONNECT tunnel: the proxy agent
 * applies its constructor's options to the proxy connection only, while Node's Agent merges its
 * `options` into every request's, which the agent then hands to tls.connect for the endpoint.
 */
function tunnelling(agent: HttpsProxyAgent<string>, tls: NetworkSettings['tls']): HttpsProxyAgent<string> {
  Object.assign((agent as unknown as { options: object }).options, tls);
  return agent;
}

/**
 * A proxy agent's connection is made in its async `connect()` (to the proxy, then CONNECT and the
 * TLS handshake with the endpoint for https). The connect timeout covers all of that: the
 * request fails if the tunnel, or the handshake inside it, is not ready within `connectTimeout`.
 */
function instrumentProxy<A extends HttpProxyAgent<string> | HttpsProxyAgent<string>>(agent: A, connectTimeout: number, tls: boolean, watch: PoolWatch): A {
  const internals = agent as unknown as AgentInternals & { connect(request: ClientRequest, options: { host?: string; port?: number }): Promise<Socket> };
  const addRequest = internals.addRequest;
  internals.addRequest = function (this: AgentInternals, request, options) {
    addRequest.call(this, request, options);
    watch.added(this, request);
  };
  if (connectTimeout === 0) return agent;
  const connect = internals.connect;
  internals.connect = function (this: unknown, request, options) {
    return new Promise<Socket>((resolve, reject) => {
      let settled = false;
      let pending: Socket | undefined;
      const settle = (fail: Error | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (fail === undefined) resolve(pending!);
        else {
          pending?.destroy();
          reject(fail);
        }
      };
      const host = options.host ?? 'localhost';
      const timer = setTimeout(() => settle(connectTimeoutError(host, options.port ?? (tls ? 443 : 80), connectTimeout, tls)), connectTimeout);
      connect.call(this, request, options).then(
        (socket) => {
          if (settled) {
            socket.destroy();
            return;
          }
          pending = socket;
          const secure = socket as TLSSocket;
          // A TLS socket to the endpoint whose handshake has not finished yet ('unknown' protocol).
          if (typeof secure.getProtocol !== 'function' || secure.getProtocol() !== 'unknown') {
            settle(undefined);
            return;
          }
          const onError = (error: Error) => settle(error);
          secure.once('error', onError);
          secure.once('secureConnect', () => {
            secure.off('error', onError);
            settle(undefined);
          });
        },
        (error: Error) => settle(error),
      );
    });
  };
  return agent;
}

/** Fail a connection that is not ready (connected, and for TLS, handshaken) within `timeoutMs`. */
function limitConnect(socket: Socket, timeoutMs: number, tls: boolean, host: string, port: number | string): void {
  const timer = setTimeout(() => socket.destroy(connectTimeoutError(host, port, timeoutMs, tls)), timeoutMs);
  const clear = () => clearTimeout(timer);
  socket.once(tls ? 'secureConnect' : 'connect', clear);
  socket.once('close', clear);
}

/**
 * Warns (process warning FILEFIELD_S3_POOL_EXHAUSTED, once per storage and minute) when a
 * request has waited for a pooled connection for a second: every connection is busy, typically
 * held by readers nobody reads or closes.
 */
class PoolWatch {
  private lastWarning = -Infinity;
  private pending: NodeJS.Timeout | undefined;
  private readonly queuedAt = new WeakMap<ClientRequest, number>();

  constructor(
    private readonly what: string,
    private readonly maxSockets: number,
  ) {}

  added(agent: AgentInternals, request: ClientRequest): void {
    if (!isQueued(agent, request)) return;
    this.queuedAt.set(request, Date.now());
    this.arm(agent, POOL_WAIT_WARNING_MS);
  }

  private arm(agent: AgentInternals, delay: number): void {
    if (this.pending !== undefined || Date.now() - this.lastWarning < POOL_WARNING_INTERVAL_MS) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.check(agent);
    }, delay);
    // A check must not keep a process alive that has nothing else to do.
    this.pending.unref();
  }

  private check(agent: AgentInternals): void {
    // Queues are FIFO: the first request of each is its oldest.
    const oldest = Object.values(agent.requests)
      .map((queue) => queue?.[0])
      .map((request) => (request === undefined ? undefined : this.queuedAt.get(request)))
      .filter((at): at is number => at !== undefined);
    if (oldest.length === 0) return;
    const waited = Date.now() - Math.min(...oldest);
    if (waited < POOL_WAIT_WARNING_MS) {
      this.arm(agent, POOL_WAIT_WARNING_MS - waited);
      return;
    }
    this.lastWarning = Date.now();
    process.emitWarning(
      `S3 storage for ${this.what}: every pooled connection (maxPoolConnections: ${this.maxSockets}) is busy and requests have waited ` +
        `over ${POOL_WAIT_WARNING_MS / 1000} s for one. Close file readers you no longer need (close(), or read ` +
        'them to the end: an open reader holds its connection), or raise maxPoolConnections (AWS_S3_MAX_POOL_CONNECTIONS).',
      { type: 'FileFieldWarning', code: POOL_EXHAUSTED_WARNING },
    );
  }
}

function isQueued(agent: AgentInternals, request: ClientRequest): boolean {
  return Object.values(agent.requests).some((queue) => queue?.includes(request) ?? false);
}
