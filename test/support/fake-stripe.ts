/**
 * A fake Stripe API: a real HTTP server on 127.0.0.1 that the real stripe-node client talks to, so
 * tests exercise the client's own encoding, retries, timeouts, idempotency keys and error mapping.
 *
 * What it models (and only that — unknown routes and parameters are rejected the way Stripe rejects
 * them, so code that relies on something the fake does not model fails loudly instead of passing):
 * - stores seeded by tests (`add`, `get`, `all`, `update`, `reset`);
 * - list endpoints with Stripe's cursor pagination and filters, retrieve by id, `expand[]`;
 * - the writes of the money-actions feature: customer balance transactions, subscription update,
 *   invoice void / mark_uncollectible / send — each applied write is recorded in `writes` and emits
 *   the Event Stripe would emit;
 * - Stripe's Idempotency-Key semantics;
 * - fault injection: 5xx, 429, hung responses (optionally after the write was applied), dropped
 *   connections.
 *
 * Stored objects are JSON as Stripe sends it on the wire: decimal-string fields are strings there,
 * although stripe-node 23 types them as `Stripe.Decimal` (the client converts them when it parses a
 * response; webhook payloads are not converted).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { nextId } from './stripe-fixtures.js';

// ---------------------------------------------------------------------------------------------
// Form decoding
// ---------------------------------------------------------------------------------------------

export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** `a[b][0]` → `['a', 'b', '0']`; `a[]` → `['a', '']`. A key with unbalanced brackets stays literal. */
function splitKey(key: string): string[] {
  const open = key.indexOf('[');
  if (open <= 0) return [key];
  const segments = [key.slice(0, open)];
  let rest = key.slice(open);
  while (rest.length > 0) {
    const match = /^\[([^\]]*)\]/.exec(rest);
    if (!match) return [key];
    segments.push(match[1] ?? '');
    rest = rest.slice(match[0].length);
  }
  return segments;
}

interface RawNode {
  [key: string]: string | RawNode;
}

function toFormValue(node: string | RawNode, parentKey: string | undefined): FormValue {
  if (typeof node === 'string') return node;
  const keys = Object.keys(node);
  // Indexed keys (`expand[0]`, `items[1][price]`) are arrays — except inside `metadata`, whose keys
  // are the caller's own strings and may well be "0", "1".
  const isArray = parentKey !== 'metadata' && keys.length > 0 && keys.every((k) => /^\d+$/.test(k));
  if (isArray) {
    return keys
      .map(Number)
      .sort((a, b) => a - b)
      .map((i) => toFormValue(node[String(i)] as string | RawNode, undefined));
  }
  const out: FormObject = {};
  for (const k of keys) out[k] = toFormValue(node[k] as string | RawNode, k);
  return out;
}

/**
 * Decodes an `application/x-www-form-urlencoded` body or query string with Rails/qs-style brackets,
 * as Stripe reads it: `a[b]=c` → `{ a: { b: 'c' } }`, `expand[]=x&expand[]=y` and
 * `expand[0]=x&expand[1]=y` → `{ expand: ['x', 'y'] }`. All leaf values are strings (an empty string
 * is how Stripe clients send "unset").
 */
export function decodeForm(input: string): FormObject {
  const root: RawNode = {};
  for (const [rawKey, value] of new URLSearchParams(input.startsWith('?') ? input.slice(1) : input)) {
    const segments = splitKey(rawKey);
    if (segments.some((s) => UNSAFE_KEYS.has(s))) continue;
    let node = root;
    segments.forEach((segment, i) => {
      // `[]` appends: the next index is the count of indexed keys so far.
      const key = segment === '' ? String(Object.keys(node).filter((k) => /^\d+$/.test(k)).length) : segment;
      if (i === segments.length - 1) {
        node[key] = value;
        return;
      }
      const child = node[key];
      if (child === undefined || typeof child === 'string') {
        const created: RawNode = {};
        node[key] = created;
        node = created;
      } else {
        node = child;
      }
    });
  }
  return toFormValue(root, undefined) as FormObject;
}

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

export interface ResourceTypes {
  customers: Stripe.Customer;
  subscriptions: Stripe.Subscription;
  invoices: Stripe.Invoice;
  charges: Stripe.Charge;
  refunds: Stripe.Refund;
  disputes: Stripe.Dispute;
  credit_notes: Stripe.CreditNote;
  balance_transactions: Stripe.BalanceTransaction;
  payouts: Stripe.Payout;
  events: Stripe.Event;
  customer_balance_transactions: Stripe.CustomerBalanceTransaction;
}

export type ResourceName = keyof ResourceTypes;

const RESOURCES: readonly ResourceName[] = [
  'customers',
  'subscriptions',
  'invoices',
  'charges',
  'refunds',
  'disputes',
  'credit_notes',
  'balance_transactions',
  'payouts',
  'events',
  'customer_balance_transactions',
];

/** Stripe's words for a missing object, as in "No such customer: 'cus_123'". */
const NOUN: Record<ResourceName, string> = {
  customers: 'customer',
  subscriptions: 'subscription',
  invoices: 'invoice',
  charges: 'charge',
  refunds: 'refund',
  disputes: 'dispute',
  credit_notes: 'credit note',
  balance_transactions: 'balance transaction',
  payouts: 'payout',
  events: 'event',
  customer_balance_transactions: 'customer balance transaction',
};

type Json = null | boolean | number | string | Json[] | JsonObject;
interface JsonObject {
  [key: string]: Json;
}
interface StoredObject extends JsonObject {
  id: string;
}

export interface StripeErrorBody {
  type: 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error';
  message: string;
  code?: string;
  param?: string;
  doc_url?: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** Decoded query string (GET/DELETE params live here). */
  query: FormObject;
  /** Decoded form body (POST params). */
  body: FormObject;
  idempotencyKey: string | null;
  stripeVersion: string | null;
  requestId: string;
  /** HTTP status sent; undefined while pending or when the response was hung/dropped. */
  status?: number;
  /** Set when a fault was injected into this request. */
  fault?: 'fail' | 'rate_limit' | 'hang' | 'drop';
  /** True when the response was an idempotent replay. */
  replayed?: boolean;
}

/** A write that took effect (not replays, not rejected requests, not injected failures). */
export interface RecordedWrite {
  method: string;
  path: string;
  params: FormObject;
  idempotencyKey: string | null;
  requestId: string;
  /** The object created or changed. */
  resource: ResourceName;
  objectId: string;
}

export interface FaultMatch {
  /** HTTP method, case-insensitive. Any when absent. */
  method?: string;
  /** A string matches the exact path (no query); a RegExp is tested against the path. Any when absent. */
  path?: string | RegExp;
  /** How many matching requests the fault applies to (default 1). */
  times?: number;
}

export interface FailOptions extends FaultMatch {
  /** Default 500. */
  status?: number;
  /** Fields of the error body; type/message default from the status. */
  error?: Partial<StripeErrorBody>;
  /** Extra response headers, e.g. `{ 'Stripe-Should-Retry': 'false' }`. */
  headers?: Record<string, string>;
}

export interface RateLimitOptions extends FaultMatch {
  /** Sends `Retry-After` when given (Stripe itself does not promise one). */
  retryAfterSeconds?: number;
}

export interface HangOptions extends FaultMatch {
  /**
   * How long to hold the response. When it elapses and the client is still connected the request
   * proceeds normally (so a short hang is injected latency). Absent: hold until reset/close.
   */
  ms?: number;
  /** Apply the write (and store its idempotent result) first, then hold the response. */
  afterApply?: boolean;
}

export interface DropOptions extends FaultMatch {
  /** Apply the write (and store its idempotent result) first, then drop the connection. */
  afterApply?: boolean;
}

type Fault =
  | ({ kind: 'fail' } & FailOptions & { remaining: number })
  | ({ kind: 'rate_limit' } & RateLimitOptions & { remaining: number })
  | ({ kind: 'hang' } & HangOptions & { remaining: number })
  | ({ kind: 'drop' } & DropOptions & { remaining: number });

export interface FakeStripeOptions {
  /** Unix seconds "now" for created timestamps and trial checks; default the wall clock. */
  now?: () => number;
}

export interface FakeStripeConfig {
  apiKey: string;
  host: string;
  port: number;
  protocol: 'http';
}

export interface FakeClientOptions {
  /** Default 0, so a test sees each failure unless it opts into retries. */
  maxNetworkRetries?: number;
  /** Milliseconds; default 10 000. */
  timeout?: number;
}

interface Reply {
  status: number;
  body: JsonObject;
  headers?: Record<string, string>;
}

/** An error response. `storable: false` marks parameter validation, whose result Stripe does not save for an idempotency key. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: StripeErrorBody,
    readonly storable = true,
  ) {
    super(error.message);
  }
}

function invalid(message: string, param?: string, code?: string): ApiError {
  return new ApiError(400, { type: 'invalid_request_error', message, ...(param ? { param } : {}), ...(code ? { code } : {}) }, false);
}

function missing(resource: ResourceName, id: string, param = 'id'): ApiError {
  return new ApiError(404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    message: `No such ${NOUN[resource]}: '${id}'`,
    param,
    doc_url: 'https://stripe.com/docs/error-codes/resource-missing',
  });
}

interface IdempotencyRecord {
  fingerprint: string;
  /** Undefined while the first request is still executing. */
  reply?: Reply;
  requestId: string;
}

interface Route {
  method: string;
  pattern: RegExp;
  handle: (ctx: RequestContext, match: string[]) => Reply;
}

interface RequestContext {
  method: string;
  path: string;
  params: FormObject;
  idempotencyKey: string | null;
  requestId: string;
}

// ---------------------------------------------------------------------------------------------
// Param helpers
// ---------------------------------------------------------------------------------------------

function assertKnownParams(params: FormObject, allowed: readonly string[]): void {
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) {
      throw invalid(`Received unknown parameter: ${key}`, key, 'parameter_unknown');
    }
  }
}

function stringParam(params: FormObject, key: string): string | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalid(`Invalid string: ${key}`, key);
  return v;
}

function intFrom(value: string, param: string): number {
  if (!/^-?\d+$/.test(value)) throw invalid(`Invalid integer: ${value}`, param);
  return Number(value);
}

function intParam(params: FormObject, key: string): number | undefined {
  const v = stringParam(params, key);
  return v === undefined ? undefined : intFrom(v, key);
}

function boolParam(params: FormObject, key: string): boolean | undefined {
  const v = stringParam(params, key);
  if (v === undefined) return undefined;
  if (v !== 'true' && v !== 'false') throw invalid(`Invalid boolean: ${v}`, key);
  return v === 'true';
}

function expandParam(params: FormObject): string[] {
  const v = params.expand;
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((item) => {
    if (typeof item !== 'string') throw invalid('Invalid array', 'expand');
    return item;
  });
}

/** `created=123` or `created[gte]=…&created[lt]=…` → predicate on a unix timestamp. */
function rangeParam(params: FormObject, key: string): ((value: unknown) => boolean) | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (typeof v === 'string') {
    const exact = intFrom(v, key);
    return (value) => value === exact;
  }
  if (Array.isArray(v)) throw invalid(`Invalid ${key}`, key);
  const bounds: Array<(n: number) => boolean> = [];
  for (const [op, raw] of Object.entries(v)) {
    if (typeof raw !== 'string') throw invalid(`Invalid integer: ${key}[${op}]`, `${key}[${op}]`);
    const n = intFrom(raw, `${key}[${op}]`);
    if (op === 'gt') bounds.push((x) => x > n);
    else if (op === 'gte') bounds.push((x) => x >= n);
    else if (op === 'lt') bounds.push((x) => x < n);
    else if (op === 'lte') bounds.push((x) => x <= n);
    else throw invalid(`Received unknown parameter: ${key}[${op}]`, `${key}[${op}]`, 'parameter_unknown');
  }
  return (value) => typeof value === 'number' && bounds.every((b) => b(value));
}

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Order-independent JSON, to compare a retried request's params with the first one's. */
function canonical(value: FormValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(value[k] as FormValue)}`)
    .join(',')}}`;
}

function idOf(value: Json | undefined): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && !Array.isArray(value) && typeof value.id === 'string') return value.id;
  return null;
}

/** Newest first by `created`, then by id descending — Stripe's list order, made total. */
function compareNewestFirst(a: StoredObject, b: StoredObject): number {
  const ca = typeof a.created === 'number' ? a.created : 0;
  const cb = typeof b.created === 'number' ? b.created : 0;
  if (ca !== cb) return cb - ca;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

const PAGINATION_PARAMS = ['limit', 'starting_after', 'ending_before', 'expand', 'created'] as const;

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

export class FakeStripe {
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  /** Every write that took effect, in order. Replays and rejected/failed requests are not here. */
  readonly writes: RecordedWrite[] = [];

  private readonly stores = new Map<ResourceName, Map<string, StoredObject>>();
  private readonly payoutMembers = new Map<string, Set<string>>();
  private readonly idempotency = new Map<string, IdempotencyRecord>();
  private faults: Fault[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly heldResponses = new Set<ServerResponse>();
  private readonly routes: Route[];
  private readonly now: () => number;

  private constructor(
    private readonly server: Server,
    readonly config: FakeStripeConfig,
    options: FakeStripeOptions,
  ) {
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
    for (const r of RESOURCES) this.stores.set(r, new Map());
    this.routes = this.buildRoutes();
  }

  /** Starts a server on 127.0.0.1 on a free port. */
  static async start(options: FakeStripeOptions = {}): Promise<FakeStripe> {
    let fake: FakeStripe | undefined;
    const server = createServer((req, res) => {
      if (!fake) {
        res.writeHead(503).end();
        return;
      }
      fake.onRequest(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    fake = new FakeStripe(server, { apiKey: 'sk_test_fake', host: '127.0.0.1', port, protocol: 'http' }, options);
    return fake;
  }

  /** A real stripe-node client pointed at this server. */
  client(options: FakeClientOptions = {}): Stripe {
    return new Stripe(this.config.apiKey, {
      host: this.config.host,
      port: this.config.port,
      protocol: this.config.protocol,
      maxNetworkRetries: options.maxNetworkRetries ?? 0,
      timeout: options.timeout ?? 10_000,
      telemetry: false,
    });
  }

  /** Closes the server, dropping held responses and keep-alive connections. */
  async close(): Promise<void> {
    this.releaseHeld();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  // --- stores ------------------------------------------------------------------------------------

  /** Seeds an object (stored as wire JSON) and returns the object given. Replaces one with the same id. */
  add<R extends ResourceName>(resource: R, object: ResourceTypes[R]): ResourceTypes[R] {
    const stored = clone(object) as unknown as StoredObject;
    this.store(resource).set(stored.id, stored);
    return object;
  }

  addAll<R extends ResourceName>(resource: R, objects: readonly ResourceTypes[R][]): void {
    for (const o of objects) this.add(resource, o);
  }

  /** A copy of the stored object (wire JSON: decimal fields are strings despite the type). */
  get<R extends ResourceName>(resource: R, id: string): ResourceTypes[R] | undefined {
    const found = this.store(resource).get(id);
    return found === undefined ? undefined : (clone(found) as unknown as ResourceTypes[R]);
  }

  /** Copies of every stored object of a resource, in the order they were added. */
  all<R extends ResourceName>(resource: R): ResourceTypes[R][] {
    return [...this.store(resource).values()].map((o) => clone(o) as unknown as ResourceTypes[R]);
  }

  /** Shallow-merges fields into a stored object (test setup, not an API write: not recorded). */
  update<R extends ResourceName>(resource: R, id: string, patch: Partial<ResourceTypes[R]>): ResourceTypes[R] {
    const found = this.store(resource).get(id);
    if (!found) throw new Error(`fake-stripe: no ${NOUN[resource]} ${id} to update`);
    Object.assign(found, clone(patch));
    return clone(found) as unknown as ResourceTypes[R];
  }

  /**
   * Declares which balance transactions an automatic payout paid out, for
   * `GET /v1/balance_transactions?payout=…`. The payout's own transaction (`payout.balance_transaction`)
   * is listed too, as Stripe does, without being assigned here.
   */
  assignToPayout(payoutId: string, ...balanceTransactionIds: string[]): void {
    const set = this.payoutMembers.get(payoutId) ?? new Set<string>();
    for (const id of balanceTransactionIds) set.add(id);
    this.payoutMembers.set(payoutId, set);
  }

  /** Empties stores, recorded requests/writes, idempotency keys and pending faults; releases held responses. */
  reset(): void {
    for (const s of this.stores.values()) s.clear();
    this.payoutMembers.clear();
    this.idempotency.clear();
    this.faults = [];
    this.requests.length = 0;
    this.writes.length = 0;
    this.releaseHeld();
  }

  // --- faults ------------------------------------------------------------------------------------

  /** The next matching request(s) get an error response (default 500 api_error) without effect. */
  failNext(options: FailOptions = {}): void {
    this.faults.push({ kind: 'fail', ...options, remaining: options.times ?? 1 });
  }

  /**
   * The next matching request(s) get HTTP 429 with code `rate_limit`. No `Stripe-Should-Retry` header
   * is sent, so stripe-node surfaces a StripeRateLimitError instead of retrying.
   */
  rateLimitNext(options: RateLimitOptions = {}): void {
    this.faults.push({ kind: 'rate_limit', ...options, remaining: options.times ?? 1 });
  }

  /** Holds the response of the next matching request(s), so the client's timeout fires. */
  hangNext(options: HangOptions = {}): void {
    this.faults.push({ kind: 'hang', ...options, remaining: options.times ?? 1 });
  }

  /**
   * Destroys the connection of the next matching request(s) without a response (ECONNRESET on the
   * client). Note stripe-node retries a reset connection once even with `maxNetworkRetries: 0`.
   */
  dropNext(options: DropOptions = {}): void {
    this.faults.push({ kind: 'drop', ...options, remaining: options.times ?? 1 });
  }

  // --- request handling --------------------------------------------------------------------------

  private store<R extends ResourceName>(resource: R): Map<string, StoredObject> {
    const s = this.stores.get(resource);
    if (!s) throw new Error(`fake-stripe: unknown resource ${resource}`);
    return s;
  }

  private releaseHeld(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const res of this.heldResponses) res.destroy();
    this.heldResponses.clear();
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const index = this.faults.findIndex(
      (f) =>
        (f.method === undefined || f.method.toUpperCase() === method) &&
        (f.path === undefined || (typeof f.path === 'string' ? f.path === path : f.path.test(path))),
    );
    if (index < 0) return undefined;
    const fault = this.faults[index] as Fault;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    return fault;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        this.handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        // A bug in the fake itself: answer like Stripe's 500 so the test sees it, and keep serving.
        const message = err instanceof Error ? err.message : String(err);
        this.send(res, { status: 500, body: { error: { type: 'api_error', message: `fake-stripe internal error: ${message}` } } });
      }
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse, rawBody: string): void {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://fake-stripe.local');
    const path = url.pathname;
    const query = decodeForm(url.search);
    const body = (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded') ? decodeForm(rawBody) : {};
    const header = (name: string): string | null => {
      const v = req.headers[name];
      return typeof v === 'string' ? v : null;
    };
    const requestId = nextId('req');
    const record: RecordedRequest = {
      method,
      path,
      query,
      body,
      idempotencyKey: header('idempotency-key'),
      stripeVersion: header('stripe-version'),
      requestId,
    };
    this.requests.push(record);

    const baseHeaders: Record<string, string> = {
      'Request-Id': requestId,
      'Stripe-Version': record.stripeVersion ?? Stripe.API_VERSION,
    };
    if (record.idempotencyKey !== null) baseHeaders['Idempotency-Key'] = record.idempotencyKey;
    const reply = (r: Reply): void => {
      record.status = r.status;
      this.send(res, { ...r, headers: { ...baseHeaders, ...r.headers } });
    };

    if (!/^Bearer sk_test_\S+$/.test(header('authorization') ?? '')) {
      reply({
        status: 401,
        body: { error: { type: 'invalid_request_error', message: 'You did not provide a valid test API key (sk_test_…).' } },
      });
      return;
    }

    const fault = this.takeFault(method, path);
    if (fault) record.fault = fault.kind;
    if (fault?.kind === 'fail') {
      const status = fault.status ?? 500;
      const defaults: StripeErrorBody =
        status >= 500
          ? { type: 'api_error', message: 'An unknown error occurred (injected by fake-stripe).' }
          : { type: status === 402 ? 'card_error' : 'invalid_request_error', message: `Injected ${status} error.` };
      reply({ status, body: { error: { ...defaults, ...fault.error } as unknown as JsonObject }, ...(fault.headers ? { headers: fault.headers } : {}) });
      return;
    }
    if (fault?.kind === 'rate_limit') {
      reply({
        status: 429,
        body: {
          error: {
            type: 'invalid_request_error',
            code: 'rate_limit',
            message: 'Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.',
            doc_url: 'https://stripe.com/docs/error-codes/rate-limit',
          },
        },
        ...(fault.retryAfterSeconds === undefined ? {} : { headers: { 'Retry-After': String(fault.retryAfterSeconds) } }),
      });
      return;
    }

    const ctx: RequestContext = {
      method,
      path,
      params: method === 'POST' ? body : query,
      idempotencyKey: method === 'POST' ? record.idempotencyKey : null,
      requestId,
    };
    const execute = (): Reply => {
      const r = this.execute(ctx);
      if (r.headers?.['Idempotent-Replayed'] === 'true') record.replayed = true;
      return r;
    };

    if (fault?.kind === 'drop') {
      if (fault.afterApply) execute();
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      // Stripe never saw a plain hung request; an afterApply one was executed before the line went quiet.
      const applied = fault.afterApply ? execute() : undefined;
      let clientGone = false;
      res.on('close', () => {
        if (!res.writableFinished) clientGone = true;
        this.heldResponses.delete(res);
      });
      this.heldResponses.add(res);
      if (fault.ms !== undefined) {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          this.heldResponses.delete(res);
          if (clientGone) return;
          try {
            reply(applied ?? execute());
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            reply({ status: 500, body: { error: { type: 'api_error', message: `fake-stripe internal error: ${message}` } } });
          }
        }, fault.ms);
        this.timers.add(timer);
      }
      return;
    }
    reply(execute());
  }

  /** Idempotency, routing, error mapping. */
  private execute(ctx: RequestContext): Reply {
    const key = ctx.idempotencyKey;
    if (key !== null) {
      if (key.length > 255) {
        return this.errorReply(invalid('Keys for idempotent requests can only be up to 255 characters long.', 'idempotency_key'));
      }
      const fingerprint = `${ctx.method} ${ctx.path} ${canonical(ctx.params)}`;
      const prior = this.idempotency.get(key);
      if (prior) {
        if (prior.fingerprint !== fingerprint) {
          return this.errorReply(
            new ApiError(400, {
              type: 'idempotency_error',
              message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
            }),
          );
        }
        if (!prior.reply) {
          return this.errorReply(
            new ApiError(409, {
              type: 'idempotency_error',
              message: 'There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ' + key + '. Please try again later.',
            }),
          );
        }
        return {
          ...prior.reply,
          headers: { ...prior.reply.headers, 'Idempotent-Replayed': 'true', 'Original-Request': prior.requestId },
        };
      }
      const entry: IdempotencyRecord = { fingerprint, requestId: ctx.requestId };
      this.idempotency.set(key, entry);
      const result = this.route(ctx);
      if (result.storable) entry.reply = result.reply;
      else this.idempotency.delete(key);
      return result.reply;
    }
    return this.route(ctx).reply;
  }

  private route(ctx: RequestContext): { reply: Reply; storable: boolean } {
    try {
      for (const r of this.routes) {
        if (r.method !== ctx.method) continue;
        const m = r.pattern.exec(ctx.path);
        if (m) return { reply: r.handle(ctx, m.slice(1).map(decodeURIComponent)), storable: true };
      }
      throw new ApiError(
        404,
        {
          type: 'invalid_request_error',
          message: `Unrecognized request URL (${ctx.method}: ${ctx.path}). fake-stripe does not model this endpoint.`,
        },
        false,
      );
    } catch (err) {
      if (err instanceof ApiError) return { reply: this.errorReply(err), storable: err.storable };
      throw err;
    }
  }

  private errorReply(err: ApiError): Reply {
    return { status: err.status, body: { error: err.error as unknown as JsonObject } };
  }

  private send(res: ServerResponse, r: Reply): void {
    if (res.destroyed || res.writableEnded) return;
    const payload = JSON.stringify(r.body);
    res.writeHead(r.status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(payload),
      ...r.headers,
    });
    res.end(payload);
  }

  // --- routes ------------------------------------------------------------------------------------

  private buildRoutes(): Route[] {
    const id = '([^/]+)';
    const routes: Route[] = [];
    const get = (pattern: string, handle: Route['handle']): void => {
      routes.push({ method: 'GET', pattern: new RegExp(`^${pattern}$`), handle });
    };
    const post = (pattern: string, handle: Route['handle']): void => {
      routes.push({ method: 'POST', pattern: new RegExp(`^${pattern}$`), handle });
    };

    // Lists. Each names the filters Stripe accepts on that endpoint; anything else is a 400.
    const lists: Array<[string, ResourceName, Record<string, (params: FormObject) => ((o: StoredObject) => boolean) | undefined>]> = [
      ['customers', 'customers', { email: eq('email'), test_clock: eq('test_clock') }],
      [
        'subscriptions',
        'subscriptions',
        {
          customer: eq('customer'),
          collection_method: eq('collection_method'),
          test_clock: eq('test_clock'),
          price: (p) => {
            const want = stringParam(p, 'price');
            return want === undefined ? undefined : (o) => subscriptionPrices(o).includes(want);
          },
          // Stripe's default leaves canceled subscriptions out; `all` includes them, `ended` is only them.
          status: (p) => {
            const s = stringParam(p, 'status');
            if (s === 'all') return undefined;
            if (s === undefined) return (o) => o.status !== 'canceled';
            if (s === 'ended') return (o) => o.status === 'canceled' || o.status === 'incomplete_expired';
            return (o) => o.status === s;
          },
        },
      ],
      [
        'invoices',
        'invoices',
        {
          customer: eq('customer'),
          status: eq('status'),
          collection_method: eq('collection_method'),
          subscription: (p) => {
            const want = stringParam(p, 'subscription');
            return want === undefined ? undefined : (o) => invoiceSubscription(o) === want;
          },
          due_date: range('due_date'),
        },
      ],
      ['charges', 'charges', { customer: eq('customer'), payment_intent: eq('payment_intent'), transfer_group: eq('transfer_group') }],
      ['refunds', 'refunds', { charge: eq('charge'), payment_intent: eq('payment_intent') }],
      ['disputes', 'disputes', { charge: eq('charge'), payment_intent: eq('payment_intent') }],
      ['credit_notes', 'credit_notes', { customer: eq('customer'), invoice: eq('invoice') }],
      [
        'balance_transactions',
        'balance_transactions',
        {
          type: eq('type'),
          source: eq('source'),
          currency: eq('currency'),
          payout: (p) => {
            const payoutId = stringParam(p, 'payout');
            return payoutId === undefined ? undefined : this.payoutFilter(payoutId);
          },
        },
      ],
      ['payouts', 'payouts', { status: eq('status'), destination: eq('destination'), arrival_date: range('arrival_date') }],
      [
        'events',
        'events',
        {
          type: (p) => {
            const t = stringParam(p, 'type');
            if (t === undefined) return undefined;
            const prefix = t.endsWith('*') ? t.slice(0, -1) : null;
            return (o) => typeof o.type === 'string' && (prefix === null ? o.type === t : o.type.startsWith(prefix));
          },
          types: (p) => {
            const v = p.types;
            if (v === undefined) return undefined;
            const types = Array.isArray(v) ? v : [v];
            return (o) => types.includes(o.type as string);
          },
          delivery_success: () => undefined,
        },
      ],
    ];
    for (const [segment, resource, filters] of lists) {
      get(`/v1/${segment}`, (ctx) => this.list(ctx, resource, filters, () => true));
      get(`/v1/${segment}/${id}`, (ctx, [objectId]) => this.retrieve(ctx, resource, objectId as string));
    }

    get(`/v1/customers/${id}/balance_transactions`, (ctx, [customerId]) => {
      this.mustFind('customers', customerId as string, 'customer');
      return this.list(ctx, 'customer_balance_transactions', { invoice: eq('invoice') }, (o) => idOf(o.customer) === customerId);
    });
    get(`/v1/customers/${id}/balance_transactions/${id}`, (ctx, [customerId, txnId]) => {
      this.mustFind('customers', customerId as string, 'customer');
      const txn = this.store('customer_balance_transactions').get(txnId as string);
      if (!txn || idOf(txn.customer) !== customerId) throw missing('customer_balance_transactions', txnId as string);
      return this.retrieve(ctx, 'customer_balance_transactions', txnId as string);
    });
    post(`/v1/customers/${id}/balance_transactions`, (ctx, [customerId]) => this.createCustomerBalanceTransaction(ctx, customerId as string));
    post(`/v1/subscriptions/${id}`, (ctx, [subId]) => this.updateSubscription(ctx, subId as string));
    post(`/v1/invoices/${id}/void`, (ctx, [invoiceId]) => this.transitionInvoice(ctx, invoiceId as string, 'void'));
    post(`/v1/invoices/${id}/mark_uncollectible`, (ctx, [invoiceId]) => this.transitionInvoice(ctx, invoiceId as string, 'uncollectible'));
    post(`/v1/invoices/${id}/send`, (ctx, [invoiceId]) => this.transitionInvoice(ctx, invoiceId as string, 'send'));
    return routes;
  }

  /** Members of an automatic payout plus the payout's own transaction. */
  private payoutFilter(payoutId: string): (o: StoredObject) => boolean {
    const po = this.store('payouts').get(payoutId);
    if (!po) throw missing('payouts', payoutId, 'payout');
    if (po.automatic === false) {
      throw invalid('Balance transaction history can only be filtered on automatic transfers, not manual.', 'payout');
    }
    const members = this.payoutMembers.get(payoutId) ?? new Set<string>();
    const own = idOf(po.balance_transaction);
    return (o) => members.has(o.id) || o.id === own;
  }

  private mustFind(resource: ResourceName, objectId: string, param = 'id'): StoredObject {
    const found = this.store(resource).get(objectId);
    if (!found) throw missing(resource, objectId, param);
    return found;
  }

  private retrieve(ctx: RequestContext, resource: ResourceName, objectId: string): Reply {
    assertKnownParams(ctx.params, ['expand']);
    const found = this.mustFind(resource, objectId);
    return { status: 200, body: this.expand(clone(found), expandParam(ctx.params)) };
  }

  private list(
    ctx: RequestContext,
    resource: ResourceName,
    filters: Record<string, (params: FormObject) => ((o: StoredObject) => boolean) | undefined>,
    scope: (o: StoredObject) => boolean,
  ): Reply {
    const params = ctx.params;
    assertKnownParams(params, [...PAGINATION_PARAMS, ...Object.keys(filters)]);
    const limit = intParam(params, 'limit') ?? 10;
    if (limit < 1 || limit > 100) throw invalid(`Invalid limit: must be between 1 and 100`, 'limit');
    const startingAfter = stringParam(params, 'starting_after');
    const endingBefore = stringParam(params, 'ending_before');
    if (startingAfter !== undefined && endingBefore !== undefined) {
      throw invalid('You may only specify one of these parameters: ending_before, starting_after.', 'starting_after');
    }

    const predicates = [scope];
    const created = rangeParam(params, 'created');
    if (created) predicates.push((o) => created(o.created));
    for (const make of Object.values(filters)) {
      const p = make(params);
      if (p) predicates.push(p);
    }
    // Filters that have no param still run (subscriptions hide canceled ones by default).
    const all = [...this.store(resource).values()].sort(compareNewestFirst);
    const matching = all.filter((o) => predicates.every((p) => p(o)));

    // A cursor is a position in the ordering, so it may be an object the filters exclude.
    const cursorOf = (cursorId: string, param: string): StoredObject => {
      const c = this.store(resource).get(cursorId);
      if (!c) throw missing(resource, cursorId, param);
      return c;
    };
    let page: StoredObject[];
    let hasMore: boolean;
    if (startingAfter !== undefined) {
      const cursor = cursorOf(startingAfter, 'starting_after');
      const after = matching.filter((o) => compareNewestFirst(o, cursor) > 0);
      page = after.slice(0, limit);
      hasMore = after.length > limit;
    } else if (endingBefore !== undefined) {
      const cursor = cursorOf(endingBefore, 'ending_before');
      const before = matching.filter((o) => compareNewestFirst(o, cursor) < 0);
      page = before.slice(Math.max(0, before.length - limit));
      hasMore = before.length > limit;
    } else {
      page = matching.slice(0, limit);
      hasMore = matching.length > limit;
    }
    const body: JsonObject = { object: 'list', data: page.map((o) => clone(o)), has_more: hasMore, url: ctx.path };
    return { status: 200, body: this.expand(body, expandParam(params)) };
  }

  /** Replaces ids with the seeded objects along each `expand[]` path (`data.source`, `customer`, `a.b`). */
  private expand(root: JsonObject, paths: string[]): JsonObject {
    for (const path of paths) {
      const segments = path.split('.');
      if (segments.length > 4) throw invalid(`You cannot expand more than 4 levels of a property (${path}).`, 'expand');
      const walk = (node: Json, depth: number): void => {
        if (Array.isArray(node)) {
          node.forEach((child) => walk(child, depth));
          return;
        }
        if (node === null || typeof node !== 'object') return;
        const field = segments[depth] as string;
        if (!(field in node)) throw invalid(`This property cannot be expanded (${segments.slice(0, depth + 1).join('.')}).`, 'expand');
        const value = node[field] as Json;
        if (typeof value === 'string') {
          const target = this.findAnywhere(value);
          if (!target) {
            if (/^[a-z]+_[A-Za-z0-9]+$/.test(value)) {
              throw invalid(`fake-stripe: cannot expand ${path}: no object '${value}' was seeded.`, 'expand');
            }
            throw invalid(`This property cannot be expanded (${segments.slice(0, depth + 1).join('.')}).`, 'expand');
          }
          node[field] = clone(target);
        }
        if (depth + 1 < segments.length) walk(node[field] as Json, depth + 1);
      };
      walk(root, 0);
    }
    return root;
  }

  private findAnywhere(objectId: string): StoredObject | undefined {
    for (const s of this.stores.values()) {
      const found = s.get(objectId);
      if (found) return found;
    }
    return undefined;
  }

  // --- writes ------------------------------------------------------------------------------------

  private recordWrite(ctx: RequestContext, resource: ResourceName, objectId: string): void {
    this.writes.push({
      method: ctx.method,
      path: ctx.path,
      params: clone(ctx.params),
      idempotencyKey: ctx.idempotencyKey,
      requestId: ctx.requestId,
      resource,
      objectId,
    });
  }

  /** Stores the Event Stripe emits for an API write (one per write; Stripe may send more). */
  private emitEvent(ctx: RequestContext, type: string, object: StoredObject, previous?: JsonObject): void {
    const evt: StoredObject = {
      id: nextId('evt'),
      object: 'event',
      api_version: Stripe.API_VERSION,
      created: this.now(),
      data: previous === undefined ? { object: clone(object) } : { object: clone(object), previous_attributes: previous },
      livemode: false,
      pending_webhooks: 0,
      request: { id: ctx.requestId, idempotency_key: ctx.idempotencyKey },
      type,
    };
    this.store('events').set(evt.id, evt);
  }

  private createCustomerBalanceTransaction(ctx: RequestContext, customerId: string): Reply {
    const p = ctx.params;
    assertKnownParams(p, ['amount', 'currency', 'description', 'metadata', 'expand']);
    const amount = intParam(p, 'amount');
    if (amount === undefined) throw invalid('Missing required param: amount.', 'amount', 'parameter_missing');
    const currency = stringParam(p, 'currency')?.toLowerCase();
    if (currency === undefined) throw invalid('Missing required param: currency.', 'currency', 'parameter_missing');
    if (!/^[a-z]{3}$/.test(currency)) throw invalid(`Invalid currency: ${currency}`, 'currency');
    const metadata = applyMetadata({}, p.metadata);
    const description = stringParam(p, 'description');

    const cus = this.mustFind('customers', customerId, 'customer');
    // A customer's balance is kept in one currency (Stripe sets it on first use).
    if (typeof cus.currency === 'string' && cus.currency !== currency) {
      throw new ApiError(400, {
        type: 'invalid_request_error',
        message: `The currency ${currency} does not match the customer's currency ${cus.currency}.`,
        param: 'currency',
      });
    }
    const previousBalance = typeof cus.balance === 'number' ? cus.balance : 0;
    cus.balance = previousBalance + amount;
    if (cus.currency === null || cus.currency === undefined) cus.currency = currency;

    const txn: StoredObject = {
      id: nextId('cbtxn'),
      object: 'customer_balance_transaction',
      amount,
      checkout_session: null,
      created: this.now(),
      credit_note: null,
      currency,
      customer: customerId,
      customer_account: null,
      description: description === undefined || description === '' ? null : description,
      ending_balance: cus.balance,
      invoice: null,
      livemode: false,
      metadata,
      type: 'adjustment',
    };
    this.store('customer_balance_transactions').set(txn.id, txn);
    this.recordWrite(ctx, 'customer_balance_transactions', txn.id);
    this.emitEvent(ctx, 'customer.updated', cus, { balance: previousBalance });
    return { status: 200, body: this.expand(clone(txn), expandParam(p)) };
  }

  private updateSubscription(ctx: RequestContext, subId: string): Reply {
    const p = ctx.params;
    assertKnownParams(p, [
      'trial_end',
      'pause_collection',
      'cancel_at_period_end',
      'cancel_at',
      'proration_behavior',
      'proration_date',
      'metadata',
      'description',
      'expand',
    ]);
    // Validate everything before touching the stored object, so a bad request has no partial effect.
    const now = this.now();
    const trialEndRaw = stringParam(p, 'trial_end');
    let trialEnd: number | undefined;
    if (trialEndRaw !== undefined) {
      trialEnd = trialEndRaw === 'now' ? now : intFrom(trialEndRaw, 'trial_end');
      if (trialEndRaw !== 'now' && trialEnd <= now) {
        throw invalid('Invalid timestamp: must be an integer Unix timestamp in the future.', 'trial_end');
      }
    }
    let pause: JsonObject | null | undefined;
    const pauseRaw = p.pause_collection;
    if (pauseRaw === '') pause = null;
    else if (pauseRaw !== undefined) {
      if (typeof pauseRaw !== 'object' || Array.isArray(pauseRaw)) throw invalid('Invalid pause_collection', 'pause_collection');
      assertKnownParams(pauseRaw, ['behavior', 'resumes_at']);
      const behavior = stringParam(pauseRaw, 'behavior');
      if (behavior === undefined) throw invalid('Missing required param: pause_collection[behavior].', 'pause_collection[behavior]', 'parameter_missing');
      if (!['keep_as_draft', 'mark_uncollectible', 'void'].includes(behavior)) {
        throw invalid(`Invalid pause_collection[behavior]: must be one of keep_as_draft, mark_uncollectible, or void`, 'pause_collection[behavior]');
      }
      const resumesAt = intParam(pauseRaw, 'resumes_at');
      pause = { behavior, resumes_at: resumesAt ?? null };
    }
    const cancelAtPeriodEnd = boolParam(p, 'cancel_at_period_end');
    const cancelAtRaw = stringParam(p, 'cancel_at');
    const cancelAt = cancelAtRaw === undefined ? undefined : cancelAtRaw === '' ? null : intFrom(cancelAtRaw, 'cancel_at');
    const proration = stringParam(p, 'proration_behavior');
    if (proration !== undefined && !['always_invoice', 'create_prorations', 'none'].includes(proration)) {
      throw invalid('Invalid proration_behavior: must be one of always_invoice, create_prorations, or none', 'proration_behavior');
    }
    if (p.proration_date !== undefined) intParam(p, 'proration_date');
    const description = stringParam(p, 'description');

    const sub = this.mustFind('subscriptions', subId);
    if (sub.status === 'canceled' || sub.status === 'incomplete_expired') {
      const onlyMetadata = Object.keys(p).every((k) => k === 'metadata' || k === 'expand');
      if (!onlyMetadata) {
        throw new ApiError(400, {
          type: 'invalid_request_error',
          message: 'A canceled subscription can only update its cancellation_details and metadata.',
        });
      }
    }
    const before = clone(sub);
    if (trialEnd !== undefined) {
      sub.trial_end = trialEnd;
      if (sub.trial_start === null || sub.trial_start === undefined) sub.trial_start = now;
      if (trialEnd <= now && sub.status === 'trialing') sub.status = 'active';
      if (trialEnd > now && (sub.status === 'active' || sub.status === 'trialing')) sub.status = 'trialing';
    }
    if (pause !== undefined) sub.pause_collection = pause;
    if (cancelAtPeriodEnd !== undefined) {
      sub.cancel_at_period_end = cancelAtPeriodEnd;
      // Since 2025 Stripe reports the scheduled end in `cancel_at` for period-end cancellations too.
      sub.cancel_at = cancelAtPeriodEnd ? subscriptionPeriodEnd(sub) : null;
    }
    if (cancelAt !== undefined) sub.cancel_at = cancelAt;
    if (p.metadata !== undefined) sub.metadata = applyMetadata((sub.metadata as JsonObject | null) ?? {}, p.metadata);
    if (description !== undefined) sub.description = description === '' ? null : description;

    const previous: JsonObject = {};
    for (const k of Object.keys(sub)) {
      if (JSON.stringify(before[k]) !== JSON.stringify(sub[k])) previous[k] = before[k] as Json;
    }
    this.recordWrite(ctx, 'subscriptions', subId);
    this.emitEvent(ctx, 'customer.subscription.updated', sub, previous);
    return { status: 200, body: this.expand(clone(sub), expandParam(p)) };
  }

  private transitionInvoice(ctx: RequestContext, invoiceId: string, action: 'void' | 'uncollectible' | 'send'): Reply {
    assertKnownParams(ctx.params, ['expand']);
    const inv = this.mustFind('invoices', invoiceId, 'invoice');
    const status = inv.status as string;
    const transitions = (inv.status_transitions ?? {}) as JsonObject;
    const now = this.now();
    let eventType: string;
    const previous: JsonObject = { status };
    if (action === 'void') {
      if (status !== 'open' && status !== 'uncollectible') {
        throw new ApiError(400, { type: 'invalid_request_error', message: `You can only void invoices that are open or uncollectible; this invoice is ${status}.` });
      }
      inv.status = 'void';
      previous.status_transitions = clone(transitions);
      inv.status_transitions = { ...transitions, voided_at: now };
      eventType = 'invoice.voided';
    } else if (action === 'uncollectible') {
      if (status !== 'open') {
        throw new ApiError(400, { type: 'invalid_request_error', message: `You can only mark open invoices as uncollectible; this invoice is ${status}.` });
      }
      inv.status = 'uncollectible';
      previous.status_transitions = clone(transitions);
      inv.status_transitions = { ...transitions, marked_uncollectible_at: now };
      eventType = 'invoice.marked_uncollectible';
    } else {
      if (status !== 'open') {
        throw new ApiError(400, { type: 'invalid_request_error', message: `You can only send open invoices; this invoice is ${status}.` });
      }
      if (inv.collection_method !== 'send_invoice') {
        throw new ApiError(400, {
          type: 'invalid_request_error',
          message: "You can only manually send an invoice if its collection method is 'send_invoice'.",
        });
      }
      delete previous.status;
      eventType = 'invoice.sent';
    }
    this.recordWrite(ctx, 'invoices', invoiceId);
    this.emitEvent(ctx, eventType, inv, Object.keys(previous).length > 0 ? previous : undefined);
    return { status: 200, body: this.expand(clone(inv), expandParam(ctx.params)) };
  }
}

// ---------------------------------------------------------------------------------------------
// Filter and object helpers
// ---------------------------------------------------------------------------------------------

/** Filter: the object's field (or the id of an expanded object there) equals the param. */
function eq(field: string): (params: FormObject) => ((o: StoredObject) => boolean) | undefined {
  return (params) => {
    const want = stringParam(params, field);
    return want === undefined ? undefined : (o) => idOf(o[field]) === want;
  };
}

function range(field: string): (params: FormObject) => ((o: StoredObject) => boolean) | undefined {
  return (params) => {
    const test = rangeParam(params, field);
    return test === undefined ? undefined : (o) => test(o[field]);
  };
}

function itemsOf(sub: JsonObject): JsonObject[] {
  const items = sub.items as JsonObject | null | undefined;
  const data = items?.data;
  return Array.isArray(data) ? (data.filter((d) => d !== null && typeof d === 'object' && !Array.isArray(d)) as JsonObject[]) : [];
}

function subscriptionPrices(sub: JsonObject): string[] {
  return itemsOf(sub)
    .map((item) => idOf(item.price))
    .filter((x): x is string => x !== null);
}

function subscriptionPeriodEnd(sub: JsonObject): number | null {
  const ends = itemsOf(sub)
    .map((item) => item.current_period_end)
    .filter((x): x is number => typeof x === 'number');
  return ends.length ? Math.max(...ends) : null;
}

function invoiceSubscription(inv: JsonObject): string | null {
  const parent = inv.parent as JsonObject | null | undefined;
  const details = parent?.subscription_details as JsonObject | null | undefined;
  return idOf(details?.subscription);
}

/** Stripe metadata semantics: keys merge, an empty value deletes a key, `metadata=''` clears all. */
function applyMetadata(current: JsonObject, raw: FormValue | undefined): JsonObject {
  if (raw === undefined) return current;
  if (raw === '') return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw invalid('Invalid metadata: must be an object', 'metadata');
  const next: JsonObject = { ...current };
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') throw invalid(`Invalid metadata[${k}]: must be a string`, `metadata[${k}]`);
    if (k.length > 40) throw invalid(`Invalid metadata: keys can be at most 40 characters (${k}).`, `metadata[${k}]`);
    if (v.length > 500) throw invalid(`Invalid metadata[${k}]: values can be at most 500 characters.`, `metadata[${k}]`);
    if (v === '') delete next[k];
    else next[k] = v;
  }
  if (Object.keys(next).length > 50) throw invalid('Invalid metadata: at most 50 keys.', 'metadata');
  return next;
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

/**
 * A `Stripe-Signature` header for `payload`, made by the real library
 * (`stripe.webhooks.generateTestHeaderString`), so it verifies exactly as Stripe's would.
 */
export function signWebhook(payload: string, secret: string, timestamp?: number): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp === undefined ? {} : { timestamp }) });
}

export interface PostWebhookOptions {
  /** Signature timestamp (unix seconds); default now. */
  timestamp?: number;
  /** Replaces the computed header, e.g. to send a bad signature. */
  signature?: string;
  headers?: Record<string, string>;
}

export interface WebhookResponse {
  status: number;
  body: string;
  headers: Headers;
}

/**
 * POSTs an event (object, serialised like Stripe with 2-space JSON, or an exact string) to `url` with a
 * valid `Stripe-Signature`, the way Stripe delivers webhooks.
 */
export async function postWebhook(
  url: string,
  event: object | string,
  secret: string,
  options: PostWebhookOptions = {},
): Promise<WebhookResponse> {
  const payload = typeof event === 'string' ? event : JSON.stringify(event, null, 2);
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      'User-Agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      'Stripe-Signature': options.signature ?? signWebhook(payload, secret, options.timestamp),
      ...options.headers,
    },
    body: payload,
  });
  return { status: res.status, body: await res.text(), headers: res.headers };
}
