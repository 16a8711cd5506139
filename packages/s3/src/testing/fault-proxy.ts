/**
 * Fault injection for tests: an HTTP proxy on 127.0.0.1 between an S3 client and a real S3
 * server (s3rver, radosgw, MinIO). It forwards every request unchanged until a rule says
 * otherwise, then answers an S3 error itself, cuts the connection at a chosen point, loses the
 * answer after the server applied the request, or holds the request.
 *
 *   const proxy = await S3FaultProxy.start({ target: s3.endpoint });
 *   const storage = new S3Storage(s3.storageOptions({ endpointUrl: proxy.endpoint }));
 *   const fault = proxy.inject({ fault: { kind: 'lost-response' }, match: { method: 'PUT' } });
 *   await expect(storage.save('a.txt', 'a')).rejects.toThrow(); // yet the server stored a.txt
 *   expect(fault.hits).toBe(1);
 *   await proxy.stop();
 *
 * The client must use path-style addressing (`addressingStyle: 'path'`, `forcePathStyle`): the
 * proxy reads the bucket from the first path segment. Requests are forwarded byte for byte,
 * headers included (Host and Authorization too: the client signed for the proxy's host:port, and
 * servers that verify signatures check them against the Host they receive), and bodies are
 * streamed both ways, so uploads of any size pass.
 */
import { Agent, type IncomingMessage, type Server, type ServerResponse, createServer, request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, type Socket, connect } from 'node:net';

/** What the proxy does to a request a rule picked. */
export type S3Fault =
  /**
   * Answered by the proxy, never forwarded: an S3 XML error body `<Error><Code>…</Code>…`.
   * `code` defaults to `SlowDown` for 503, `InternalError` for 500, `InjectedFault` otherwise.
   * Any status from 200 to 599 (S3 answers some errors with 200, e.g. CompleteMultipartUpload).
   */
  | { kind: 'status'; status: number; code?: string; message?: string }
  /** The client's connection is reset before anything is forwarded: the server never sees the request. */
  | { kind: 'reset-before' }
  /**
   * The request head and the first `afterBytes` (default 0) bytes of its body reach the server,
   * then both connections are cut. The server never receives a complete request: a body that is
   * not longer than `afterBytes` loses its last byte, and a request without a body loses the
   * blank line that ends its head.
   */
  | { kind: 'reset-during-request'; afterBytes?: number }
  /**
   * Forwarded, and the server answers (so it applied the request); the client gets the response
   * head and the first `afterBytes` (default 0) bytes of the body, then its connection is closed.
   * The client never receives a complete response: a body that is not longer than `afterBytes`
   * loses its last byte, and a response without a body (HEAD, 204, `Content-Length: 0`, which is
   * what a PutObject gets) loses the blank line that ends its head. A GetObject therefore
   * resolves and its `Body` fails while being read.
   */
  | { kind: 'reset-during-response'; afterBytes?: number }
  /** The whole request is forwarded and the server applies it; the client's connection is then reset without an answer. */
  | { kind: 'lost-response' }
  /**
   * The request is held without an answer (its body is not read): for `ms` milliseconds, then
   * forwarded; or, without `ms`, until `heal()`, `clear()` or `stop()`, which reset its
   * connection. `heal()`, `clear()` and `stop()` reset timed stalls as well.
   */
  | { kind: 'stall'; ms?: number };

/** Which requests a rule applies to. Every given field must match; an empty matcher matches every request. */
export interface S3RequestMatcher {
  /** HTTP method, e.g. `'PUT'`, `'GET'` (case-insensitive). */
  method?: string;
  /** The bucket: the first path segment (URL-decoded). */
  bucket?: string;
  /**
   * The object key: the path after `/bucket/`, URL-decoded (a storage's `location` prefix is part
   * of it). Requests on the bucket itself (ListObjectsV2, DeleteObjects) have the key `''`.
   */
  key?: string | RegExp;
  /**
   * A query parameter that must be present, e.g. `'uploads'` (CreateMultipartUpload),
   * `'partNumber'` (UploadPart), `'uploadId'`, `'delete'` (DeleteObjects), `'list-type'`.
   */
  query?: string;
  /** A request header that must be present (name case-insensitive) and, when `value` is given, equal it or match it. */
  header?: { name: string; value?: string | RegExp };
}

/** A fault and the requests it applies to. */
export interface S3FaultRule {
  fault: S3Fault;
  /** Default: every request. */
  match?: S3RequestMatcher;
  /** How many matching requests get the fault (default 1; `Infinity` for all of them). */
  times?: number;
  /**
   * Let this many matching requests through first (default 0). A request the rule lets through
   * is forwarded unchanged: rules injected after this one do not see it.
   */
  skip?: number;
}

/** A rule in force, returned by `inject()`. */
export interface InjectedFault {
  /** How many requests got the fault so far. */
  readonly hits: number;
  /** Take the rule out; requests it already holds stay held until `heal()`. */
  remove(): void;
  /**
   * Resolves once `count` requests (default 1) in total got the fault: when a stall holds the
   * request, when a status was answered, when a reset was decided. Rejects after `timeoutMs`
   * (default 30 s).
   */
  waitForHits(count?: number, timeoutMs?: number): Promise<void>;
}

/**
 * One request that reached the proxy, recorded when it arrived. `status` is filled in when an
 * answer comes.
 */
export interface ProxiedRequest {
  method: string;
  /** The first path segment, URL-decoded. */
  bucket: string;
  /** The path after `/bucket/`, URL-decoded; `''` for requests on the bucket. */
  key: string;
  /** The raw query string without `?`, e.g. `'uploads'` or `'partNumber=1&uploadId=…'`. */
  query: string;
  /** The fault the request got, if any. */
  fault?: S3Fault['kind'];
  /** The status the server answered (or the proxy, for a `status` fault), even when a fault kept it from the client; absent when no answer came. */
  status?: number;
}

/** Options of `S3FaultProxy.start()`. */
export interface S3FaultProxyOptions {
  /** The S3 server's origin, `http://host:port` (plain HTTP only). */
  target: string;
}

interface RuleState {
  readonly fault: S3Fault;
  readonly match: S3RequestMatcher;
  readonly times: number;
  readonly skip: number;
  skipped: number;
  hits: number;
  readonly waiters: Set<() => void>;
}

interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly record: ProxiedRequest;
  /** The client sent `Expect: 100-continue` and waits for a 100 before its body. */
  readonly expectsContinue: boolean;
}

interface Held {
  readonly exchange: Exchange;
  timer?: NodeJS.Timeout;
}

type ResponseMode = { kind: 'relay' } | { kind: 'lose' } | { kind: 'cut'; afterBytes: number };

const FAULT_KINDS = new Set<S3Fault['kind']>(['status', 'reset-before', 'reset-during-request', 'reset-during-response', 'lost-response', 'stall']);

/** See the module comment. Start one with `S3FaultProxy.start({ target })`. */
export class S3FaultProxy {
  /** `http://127.0.0.1:<port>`: the endpoint to give the client (`endpointUrl` of a storage). */
  readonly endpoint: string;
  private readonly log: ProxiedRequest[] = [];
  private rules: RuleState[] = [];
  private readonly held = new Set<Held>();
  private readonly clientSockets = new Set<Socket>();
  /** Server-side connections and requests in flight, destroyed by stop(). */
  private readonly upstreams = new Set<{ destroy(): unknown }>();
  private readonly requestWaiters = new Set<() => void>();
  // One connection per forwarded request, closed after it: a kept-alive connection to the server
  // could be closed by the server just as the proxy reuses it, and the proxy must not retry
  // (that would apply a request twice), so the client would see a fault nobody injected.
  private readonly agent = new Agent({ keepAlive: false });
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
    port: number,
  ) {
    this.endpoint = `http://127.0.0.1:${port}`;
  }

  /** Start a proxy on a free port of 127.0.0.1 in front of `options.target`. */
  static async start(options: S3FaultProxyOptions): Promise<S3FaultProxy> {
    const target = parseTarget(options?.target);
    // requestTimeout 0: a stalled request must stay held as long as the test wants.
    const server = createServer({ requestTimeout: 0 });
    // Longer than the clients' idle sockets usually live: a client reusing a kept-alive
    // connection the proxy is closing at that moment would see a fault nobody injected.
    server.keepAliveTimeout = 60_000;
    let proxy: S3FaultProxy | undefined;
    server.on('connection', (socket: Socket) => proxy!.accept(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => proxy!.handle(req, res, false));
    // Without this listener node:http would send the 100 at once; with it a fault can act before
    // the client sends its body (the AWS SDK sends `Expect: 100-continue` from 2 MiB on), and a
    // forwarded request gets its 100 from the server.
    server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => proxy!.handle(req, res, true));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    // A test run that forgets stop() must still exit.
    server.unref();
    proxy = new S3FaultProxy(server, target, (server.address() as AddressInfo).port);
    return proxy;
  }

  /** Every request that reached the proxy, in order of arrival. */
  get requests(): readonly ProxiedRequest[] {
    return this.log;
  }

  /**
   * Add a rule. Rules are tried in the order injected; the first one that matches the request
   * and has hits left applies. Throws a `TypeError` or `RangeError` for a malformed rule.
   */
  inject(rule: S3FaultRule): InjectedFault {
    const state = validateRule(rule);
    this.rules.push(state);
    return {
      get hits() {
        return state.hits;
      },
      remove: () => {
        this.rules = this.rules.filter((candidate) => candidate !== state);
      },
      waitForHits: (count = 1, timeoutMs = 30_000) =>
        waitUntil(
          () => state.hits >= count,
          state.waiters,
          timeoutMs,
          () => `S3FaultProxy: the '${state.fault.kind}' rule got ${state.hits} of ${count} hits within ${timeoutMs} ms`,
        ),
    };
  }

  /** Remove every rule and reset the connections of stalled requests. */
  clear(): void {
    this.rules = [];
    this.heal();
  }

  /** Reset the connections of stalled requests (timed stalls too); the rules stay. */
  heal(): void {
    for (const held of [...this.held]) {
      this.held.delete(held);
      clearTimeout(held.timer);
      reset(held.exchange.req.socket);
    }
  }

  /** How many client connections the proxy holds open now (kept-alive idle ones included). */
  openConnections(): number {
    let open = 0;
    for (const socket of this.clientSockets) if (!socket.destroyed) open += 1;
    return open;
  }

  /** Resolves once `count` requests in total reached the proxy; rejects after `timeoutMs` (default 30 s). */
  waitForRequests(count: number, timeoutMs = 30_000): Promise<readonly ProxiedRequest[]> {
    return waitUntil(
      () => this.log.length >= count,
      this.requestWaiters,
      timeoutMs,
      () => `S3FaultProxy: ${this.log.length} of ${count} requests arrived within ${timeoutMs} ms`,
    ).then(() => this.log);
  }

  /** Close the proxy and every connection it holds (stalled, kept-alive, in flight). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.rules = [];
      this.heal();
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const socket of this.clientSockets) socket.destroy();
      for (const upstream of this.upstreams) upstream.destroy();
      this.agent.destroy();
      await closed;
    })();
    return this.stopping;
  }

  private accept(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    socket.unref();
    this.clientSockets.add(socket);
    socket.once('close', () => this.clientSockets.delete(socket));
    // Resets are what this proxy is for: they must not surface as unhandled errors.
    socket.on('error', () => undefined);
  }

  private handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    const record = describeRequest(req);
    this.log.push(record);
    const exchange: Exchange = { req, res, record, expectsContinue };
    const fault = this.pick(record, req);
    if (fault) record.fault = fault.kind;
    notify(this.requestWaiters);
    switch (fault?.kind) {
      case undefined:
        return this.forward(exchange, { kind: 'relay' });
      case 'status':
        return answerError(exchange, fault);
      case 'reset-before':
        return reset(req.socket);
      case 'reset-during-request':
        return this.cutRequest(exchange, fault.afterBytes ?? 0);
      case 'reset-during-response':
        return this.forward(exchange, { kind: 'cut', afterBytes: fault.afterBytes ?? 0 });
      case 'lost-response':
        return this.forward(exchange, { kind: 'lose' });
      case 'stall':
        return this.stall(exchange, fault.ms);
    }
  }

  private pick(record: ProxiedRequest, req: IncomingMessage): S3Fault | undefined {
    for (const rule of this.rules) {
      if (rule.hits >= rule.times || !matches(rule.match, record, req)) continue;
      if (rule.skipped < rule.skip) {
        rule.skipped += 1;
        return undefined;
      }
      rule.hits += 1;
      notify(rule.waiters);
      return rule.fault;
    }
    return undefined;
  }

  private stall(exchange: Exchange, ms: number | undefined): void {
    const held: Held = { exchange };
    this.held.add(held);
    const socket = exchange.req.socket;
    const onClose = () => {
      this.held.delete(held);
      clearTimeout(held.timer);
    };
    socket.once('close', onClose);
    if (ms === undefined) return;
    held.timer = setTimeout(() => {
      socket.off('close', onClose);
      this.held.delete(held);
      this.forward(exchange, { kind: 'relay' });
    }, ms);
    held.timer.unref();
  }

  private forward(exchange: Exchange, mode: ResponseMode): void {
    const { req, res, record } = exchange;
    if (req.socket.destroyed) return;
    const upstream = httpRequest({
      host: this.target.host,
      port: this.target.port,
      method: req.method,
      path: req.url,
      headers: withoutHopByHop(req.rawHeaders),
      setHost: false,
      agent: this.agent,
    });
    this.track(upstream);
    // Expect is forwarded, so the server decides whether the body comes (it may refuse first).
    upstream.on('continue', () => {
      if (exchange.expectsContinue && !res.headersSent) res.writeContinue();
    });
    upstream.on('error', () => reset(req.socket));
    upstream.on('response', (answer: IncomingMessage) => {
      record.status = answer.statusCode;
      if (mode.kind === 'lose') {
        answer.resume();
        reset(req.socket);
      } else if (mode.kind === 'cut') {
        cutResponse(exchange, answer, mode.afterBytes);
      } else {
        // A server that answers an Expect request without a 100 leaves the client's connection
        // unusable; node:http closes it after the answer, as in answerError.
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, withoutHopByHop(answer.rawHeaders));
        answer.pipe(res);
        // A server that breaks off its answer breaks off the client's too.
        answer.once('close', () => {
          if (!answer.complete) req.socket.destroy();
        });
      }
    });
    req.pipe(upstream);
    // A client that goes away mid-request leaves the server with a cut request, as it would without the proxy.
    req.once('close', () => {
      if (!req.complete) upstream.destroy();
    });
    res.once('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
  }

  /** reset-during-request: the head and a prefix of the body on a raw connection, then cut. */
  private cutRequest(exchange: Exchange, afterBytes: number): void {
    const { req, res } = exchange;
    const contentLength = lengthOf(req.headers['content-length']);
    const chunked = /chunked/i.test(String(req.headers['transfer-encoding'] ?? ''));
    const hasBody = chunked || (contentLength ?? 0) > 0;
    const limit = !hasBody ? 0 : contentLength !== undefined ? Math.min(afterBytes, contentLength - 1) : afterBytes;
    // Expect is dropped: the proxy answers the 100 itself, and only when it wants body bytes.
    const headers = withoutHeaders(req.rawHeaders, new Set(['expect']));
    const head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n${headerLines(headers)}${hasBody ? '\r\n' : ''}`;
    const upstream = connect({ host: this.target.host, port: this.target.port });
    this.track(upstream);
    upstream.on('error', () => reset(req.socket));
    upstream.once('close', () => reset(req.socket));
    // Any answer (e.g. a 400 for the cut request) is for nobody.
    upstream.resume();
    let cut = false;
    const cutBoth = () => {
      if (cut) return;
      cut = true;
      req.pause();
      // end() flushes what was written before the connection goes: the server sees exactly that much.
      upstream.end(() => {
        upstream.destroy();
        reset(req.socket);
      });
    };
    req.once('close', () => {
      if (!cut) {
        cut = true;
        upstream.destroy();
      }
    });
    upstream.once('connect', () => {
      upstream.write(head, 'latin1');
      if (limit === 0) return cutBoth();
      if (exchange.expectsContinue) res.writeContinue();
      let sent = 0;
      req.on('data', (chunk: Buffer) => {
        if (cut) return;
        const piece = chunk.subarray(0, limit - sent);
        sent += piece.length;
        upstream.write(chunked ? frameChunk(piece) : piece);
        if (sent >= limit) cutBoth();
      });
      // A chunked body shorter than afterBytes: everything but its last chunk went through.
      req.once('end', cutBoth);
    });
  }

  private track(upstream: { destroy(): unknown; once(event: 'close', listener: () => void): unknown }): void {
    if (this.stopping) {
      upstream.destroy();
      return;
    }
    this.upstreams.add(upstream);
    upstream.once('close', () => this.upstreams.delete(upstream));
  }
}

/** reset-during-response: the head and a prefix of the body written raw, then the client's connection closed. */
function cutResponse(exchange: Exchange, answer: IncomingMessage, afterBytes: number): void {
  const { req } = exchange;
  const socket = req.socket;
  const status = answer.statusCode ?? 502;
  const contentLength = lengthOf(answer.headers['content-length']);
  const bodyless = req.method === 'HEAD' || status === 204 || status === 304 || contentLength === 0;
  const chunked = !bodyless && /chunked/i.test(String(answer.headers['transfer-encoding'] ?? ''));
  const limit = bodyless ? 0 : contentLength !== undefined ? Math.min(afterBytes, contentLength - 1) : afterBytes;
  const head = Buffer.from(
    `HTTP/1.1 ${status} ${answer.statusMessage ?? ''}\r\n${headerLines(withoutHopByHop(answer.rawHeaders))}${bodyless ? '' : '\r\n'}`,
    'latin1',
  );
  const parts: Buffer[] = [head];
  let collected = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    answer.destroy();
    // Written whole, then a FIN (not a reset, which could discard what the client has not read yet).
    if (socket.destroyed) return;
    socket.write(Buffer.concat(parts), () => socket.destroy());
  };
  if (limit === 0) return finish();
  answer.on('data', (chunk: Buffer) => {
    if (done) return;
    const piece = chunk.subarray(0, limit - collected);
    collected += piece.length;
    parts.push(chunked ? frameChunk(piece) : piece);
    if (collected >= limit) finish();
  });
  answer.once('end', finish);
  answer.once('close', finish);
}

function answerError(exchange: Exchange, fault: Extract<S3Fault, { kind: 'status' }>): void {
  const { req, res, record } = exchange;
  record.status = fault.status;
  const code = fault.code ?? (fault.status === 503 ? 'SlowDown' : fault.status === 500 ? 'InternalError' : 'InjectedFault');
  const message =
    fault.message ??
    (fault.status === 503
      ? 'Please reduce your request rate.'
      : fault.status === 500
        ? 'We encountered an internal error. Please try again.'
        : `Injected by S3FaultProxy (${fault.status}).`);
  const requestId = `S3FAULTPROXY${randomBytes(6).toString('hex').toUpperCase()}`;
  const resource = (req.url ?? '/').split('?')[0];
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${xmlEscape(code)}</Code><Message>${xmlEscape(message)}</Message>` +
    `<Resource>${xmlEscape(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`;
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/xml',
    'Content-Length': Buffer.byteLength(body),
    'x-amz-request-id': requestId,
  };
  // Without a 100 sent the client may or may not send its body now, so the connection cannot
  // carry another request: node:http closes it after this answer (a test checks it).
  res.writeHead(fault.status, headers);
  res.end(body);
}

function describeRequest(req: IncomingMessage): ProxiedRequest {
  const url = req.url ?? '/';
  const mark = url.indexOf('?');
  const path = mark < 0 ? url : url.slice(0, mark);
  const query = mark < 0 ? '' : url.slice(mark + 1);
  const rest = path.replace(/^\//, '');
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? '' : rest.slice(slash + 1);
  return { method: req.method ?? '', bucket: decode(bucket), key: decode(key), query };
}

function matches(match: S3RequestMatcher, record: ProxiedRequest, req: IncomingMessage): boolean {
  if (match.method !== undefined && match.method.toUpperCase() !== record.method.toUpperCase()) return false;
  if (match.bucket !== undefined && match.bucket !== record.bucket) return false;
  if (match.key !== undefined && !test(match.key, record.key)) return false;
  if (match.query !== undefined && !new URLSearchParams(record.query).has(match.query)) return false;
  if (match.header !== undefined) {
    const value = req.headers[match.header.name.toLowerCase()];
    if (value === undefined) return false;
    if (match.header.value !== undefined && !test(match.header.value, Array.isArray(value) ? value.join(', ') : value)) return false;
  }
  return true;
}

function test(pattern: string | RegExp, value: string): boolean {
  if (typeof pattern === 'string') return pattern === value;
  // A /g or /y pattern keeps state between calls: each request must be judged on its own.
  pattern.lastIndex = 0;
  return pattern.test(value);
}

function validateRule(rule: S3FaultRule): RuleState {
  if (typeof rule !== 'object' || rule === null) throw new TypeError('S3FaultProxy.inject: expected a rule { fault, match?, times?, skip? }');
  const fault = rule.fault as S3Fault | undefined;
  if (typeof fault !== 'object' || fault === null || !FAULT_KINDS.has(fault.kind)) {
    throw new TypeError(`S3FaultProxy.inject: unknown fault kind ${JSON.stringify((fault as { kind?: unknown } | undefined)?.kind)}; expected one of ${[...FAULT_KINDS].join(', ')}`);
  }
  if (fault.kind === 'status' && !(Number.isInteger(fault.status) && fault.status >= 200 && fault.status <= 599)) {
    throw new RangeError(`S3FaultProxy.inject: status must be an integer from 200 to 599, got ${fault.status}`);
  }
  if ((fault.kind === 'reset-during-request' || fault.kind === 'reset-during-response') && fault.afterBytes !== undefined) {
    requireCount('afterBytes', fault.afterBytes, false);
  }
  if (fault.kind === 'stall' && fault.ms !== undefined) requireCount('ms', fault.ms, false);
  const times = rule.times ?? 1;
  const skip = rule.skip ?? 0;
  requireCount('times', times, true);
  requireCount('skip', skip, false);
  const match = rule.match ?? {};
  if (match.key !== undefined && typeof match.key !== 'string' && !(match.key instanceof RegExp)) {
    throw new TypeError('S3FaultProxy.inject: match.key must be a string or a RegExp');
  }
  if (match.header !== undefined && typeof match.header.name !== 'string') {
    throw new TypeError('S3FaultProxy.inject: match.header needs a name');
  }
  // Copied, so a caller mutating its rule object later cannot change a rule in force.
  return { fault: { ...fault }, match: { ...match }, times, skip, skipped: 0, hits: 0, waiters: new Set() };
}

function requireCount(name: string, value: number, infinityAllowed: boolean): void {
  const ok = (Number.isInteger(value) && value >= 0) || (infinityAllowed && value === Infinity);
  if (!ok) throw new RangeError(`S3FaultProxy.inject: ${name} must be a non-negative integer${infinityAllowed ? ' or Infinity' : ''}, got ${value}`);
}

function parseTarget(target: string | undefined): { host: string; port: number } {
  let url: URL;
  try {
    url = new URL(String(target));
  } catch {
    throw new TypeError(`S3FaultProxy.start: target must be an http://host:port URL, got ${JSON.stringify(target)}`);
  }
  if (url.protocol !== 'http:') throw new TypeError(`S3FaultProxy.start: only http:// targets are supported, got ${url.protocol}`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : 80 };
}

function waitUntil(done: () => boolean, waiters: Set<() => void>, timeoutMs: number, describe: () => string): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!done()) return;
      waiters.delete(check);
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      waiters.delete(check);
      reject(new Error(describe()));
    }, timeoutMs);
    timer.unref();
    waiters.add(check);
  });
}

function notify(waiters: Set<() => void>): void {
  for (const waiter of [...waiters]) waiter();
}

/** A TCP reset where the platform allows it: the client sees ECONNRESET, as with a server that died. */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

// Connection-level headers belong to each hop: the proxy's connections to the client and to the
// server are managed separately (a fresh server connection per request).
function withoutHopByHop(rawHeaders: string[]): string[] {
  const names = new Set(['connection', 'keep-alive', 'proxy-connection']);
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === 'connection') {
      for (const token of rawHeaders[i + 1].split(',')) names.add(token.trim().toLowerCase());
    }
  }
  return withoutHeaders(rawHeaders, names);
}

function withoutHeaders(rawHeaders: string[], names: Set<string>): string[] {
  const kept: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!names.has(rawHeaders[i].toLowerCase())) kept.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return kept;
}

function headerLines(rawHeaders: string[]): string {
  let lines = '';
  for (let i = 0; i < rawHeaders.length; i += 2) lines += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  return lines;
}

function frameChunk(piece: Buffer): Buffer {
  return piece.length === 0 ? piece : Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
}

function lengthOf(header: string | undefined): number | undefined {
  if (header === undefined || !/^\d+$/.test(header.trim())) return undefined;
  return Number(header);
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}
