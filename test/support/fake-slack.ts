/**
 * A fake Slack Web API: a real HTTP server on 127.0.0.1 that @slack/web-api's WebClient can talk to with
 * `new WebClient(token, { slackApiUrl: fake.apiUrl })`.
 *
 * - Every API call is recorded (`calls`, `callsTo`, `lastCall`, `waitForCall`), with form fields that WebClient
 *   JSON-encodes (`blocks`, `view`, `attachments`, `files`...) decoded back to objects.
 * - Realistic answers for the methods billops uses; anything else is `unknown_method` unless you `handle()` it.
 * - Block Kit limits are enforced on every message/view (see block-kit-limits.ts): a violating call is rejected
 *   the way Slack rejects it and listed in `violations`.
 * - Faults: `failNext` (ok:false), `rateLimitNext` (HTTP 429 + Retry-After), `enforceChannelRate`.
 * - Also serves: file downloads (`url_private`, bot token required), the filesUploadV2 upload URL, and
 *   `responseUrl(id)` endpoints that record what Bolt's `respond()` posts.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '@slack/bolt';
import { LogLevel } from '@slack/bolt';
import { type BlockKitSurface, validateBlockKit } from './block-kit-limits.js';

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

export const FAKE_SLACK_DEFAULTS = {
  token: 'xoxb-test',
  teamId: 'T0BILLOPS',
  teamName: 'Billops Test',
  teamDomain: 'billops-test',
  botUserId: 'U0BILLBOT',
  botId: 'B0BILLBOT',
  appId: 'A0BILLOPS',
  botName: 'billops',
} as const;

/** Pseudo method name under which response_url faults are queued (`failNext(RESPONSE_URL, ...)`). */
export const RESPONSE_URL = 'response_url';

export interface FakeSlackOptions {
  /** The bot token the fake accepts. Default 'xoxb-test'. */
  token?: string;
  /** More accepted tokens (user tokens, a second workspace...). */
  extraTokens?: string[];
  teamId?: string;
  teamName?: string;
  teamDomain?: string;
  botUserId?: string;
  botId?: string;
  appId?: string;
  /**
   * When true, chat.update/chat.delete/reactions.add on a message the fake never saw answer `message_not_found`
   * and views.update on an unknown view answers `not_found`. Default false (lenient: payload builders in tests
   * reference messages/views that were never posted through the fake).
   */
  strict?: boolean;
  /** Enforce Block Kit limits. Default true. */
  validateBlocks?: boolean;
}

export type BodyEncoding = 'form' | 'json' | 'multipart' | 'query';

export interface RecordedCall {
  method: string;
  /** Decoded arguments (token removed: see `token`). JSON-encoded form fields are parsed back. */
  args: Record<string, unknown>;
  /** Token from `Authorization: Bearer`, or the `token` form field; undefined when none was sent. */
  token: string | undefined;
  /** Epoch milliseconds when the request arrived. */
  at: number;
  encoding: BodyEncoding;
  /** Block Kit violations found in this call (the call was rejected when non-empty). */
  violations: string[];
  /** HTTP status answered (200, or 429 when rate limited). */
  status: number;
  /** JSON body answered. */
  response: Record<string, unknown>;
}

export interface ViolationRecord {
  /** API method, or `response_url`. */
  method: string;
  errors: string[];
  at: number;
}

export interface FakeUser {
  name?: string;
  real_name?: string;
  display_name?: string;
  email?: string;
  tz?: string;
  is_admin?: boolean;
  is_owner?: boolean;
  is_bot?: boolean;
  deleted?: boolean;
  /** Extra profile fields merged into `user.profile`. */
  profile?: Record<string, unknown>;
}

export interface FakeFile {
  name: string;
  content: Buffer | string;
  title?: string;
  mimetype?: string;
  filetype?: string;
  /** Uploader user id (default: the bot user). */
  user?: string;
  /** Epoch seconds. */
  created?: number;
}

export interface UploadRecord {
  fileId: string;
  filename: string;
  /** `length` declared to files.getUploadURLExternal. */
  declaredLength: number;
  /** Bytes actually POSTed to the upload URL (undefined until uploaded). */
  bytes: Buffer | undefined;
  /** Set by files.completeUploadExternal. */
  completed: boolean;
  title?: string;
  channelId?: string;
  threadTs?: string;
  initialComment?: string;
  altText?: string;
}

export interface DownloadRecord {
  fileId: string;
  authorized: boolean;
  at: number;
}

export interface RecordedResponse {
  id: string;
  /** JSON body posted to the response_url (a form `payload=` body is decoded too). */
  body: Record<string, unknown>;
  at: number;
  violations: string[];
  status: number;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  text: string | undefined;
  blocks: unknown;
  attachments: unknown;
  threadTs: string | undefined;
  deleted: boolean;
  reactions: string[];
}

export interface FailOptions {
  error: string;
  /** How many consecutive calls fail. Default 1. */
  times?: number;
  /** Extra fields merged into the error body (e.g. `{ needed: 'chat:write' }`). */
  extra?: Record<string, unknown>;
}

export interface RateLimitOptions {
  retryAfterSeconds?: number;
  times?: number;
}

export interface WaitOptions<T> {
  /** Default 2000 ms. */
  timeoutMs?: number;
  /** Only calls/responses matching this count. */
  match?: (item: T) => boolean;
  /** Resolve once this many matching items exist (already recorded ones count). Default 1. */
  count?: number;
}

/** Throw this from a custom handler to answer `{ ok: false, error, ...extra }`. */
export class FakeSlackApiError extends Error {
  constructor(
    readonly error: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(error);
    this.name = 'FakeSlackApiError';
  }
}

export type FakeMethodHandler = (
  args: Record<string, unknown>,
  call: RecordedCall,
) => Record<string, unknown> | Promise<Record<string, unknown>>;

export interface FakeSlack {
  readonly apiUrl: string;
  readonly baseUrl: string;
  readonly token: string;
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
  readonly calls: readonly RecordedCall[];
  readonly violations: readonly ViolationRecord[];
  readonly responses: readonly RecordedResponse[];
  readonly uploads: readonly UploadRecord[];
  readonly downloads: readonly DownloadRecord[];
  /** Directory for users.info. The bot user is pre-registered. */
  readonly users: Map<string, FakeUser>;
  /** Files for files.info / url_private. Completed uploads are added here too. */
  readonly files: Map<string, FakeFile>;
  /** usergroup id → member user ids, for usergroups.users.list. */
  readonly usergroups: Map<string, string[]>;
  /** Accepted tokens; delete one to simulate a revoked token. */
  readonly validTokens: Set<string>;

  callsTo(method: string): RecordedCall[];
  lastCall(method: string): RecordedCall | undefined;
  waitForCall(method: string, opts?: WaitOptions<RecordedCall>): Promise<RecordedCall>;
  waitForResponse(opts?: WaitOptions<RecordedResponse> & { id?: string }): Promise<RecordedResponse>;
  /** A response_url on this server; what is POSTed to it lands in `responses`. */
  responseUrl(id?: string): string;
  /** Current state of a message posted/updated through the fake. */
  message(channel: string, ts: string): StoredMessage | undefined;
  /** Stable DM channel id (D…) for a user, as conversations.open returns it. */
  dmChannelFor(userId: string): string;
  failNext(method: string, opts: FailOptions): void;
  rateLimitNext(method: string, opts?: RateLimitOptions): void;
  /** Pace chat.postMessage per channel (sliding 1 s window); null turns it off. */
  enforceChannelRate(perSecond: number | null): void;
  /** Override or add a method. */
  handle(method: string, handler: FakeMethodHandler): void;
  /** Throw if any call was rejected for Block Kit violations (handy in afterEach). */
  assertNoViolations(): void;
  /** Forget calls, responses, violations, uploads, downloads, pending faults, pacing state and stored messages/views.
   *  The directory (users, files, usergroups, tokens) and custom handlers are kept. */
  reset(): void;
  close(): Promise<void>;
}

/** WebClient options for talking to a fake Slack: its URL, and retries fast enough for tests. */
export function fakeSlackClientOptions(slack: Pick<FakeSlack, 'apiUrl'>) {
  return { slackApiUrl: slack.apiUrl, retryConfig: { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 50 } };
}

/** A @slack/logger-compatible logger that prints nothing (WebClient logs platform errors loudly). */
export function silentSlackLogger(): Logger {
  let level: LogLevel = LogLevel.ERROR;
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Implementation
// ---------------------------------------------------------------------------------------------------------------

/** Fields that WebClient JSON-encodes in form bodies and that Slack decodes. */
const JSON_FIELDS = new Set([
  'attachments',
  'blocks',
  'files',
  'metadata',
  'unfurls',
  'user_auth_blocks',
  'view',
  'profile',
  'options',
  'option_groups',
]);

const MESSAGE_METHODS = new Set([
  'chat.postMessage',
  'chat.postEphemeral',
  'chat.update',
  'chat.scheduleMessage',
  'files.completeUploadExternal',
]);

const MIME_BY_EXT: Record<string, string> = {
  csv: 'text/csv',
  txt: 'text/plain',
  json: 'application/json',
  pdf: 'application/pdf',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  zip: 'application/zip',
};

type Fault = { kind: 'error'; error: string; extra: Record<string, unknown> } | { kind: 'ratelimit'; retryAfterSeconds: number };

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

interface StoredView {
  id: string;
  hash: string;
  view: Record<string, unknown>;
  rootViewId: string;
  previousViewId: string | null;
}

interface ParsedBody {
  fields: Record<string, unknown>;
  encoding: BodyEncoding;
}

interface Waiter {
  check: () => boolean;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function fail(error: string, extra: Record<string, unknown> = {}): never {
  throw new FakeSlackApiError(error, extra);
}

function required(args: Record<string, unknown>, key: string, error = 'invalid_arguments'): string {
  const v = str(args[key]);
  if (v === undefined || v === '') fail(error, { detail: `missing required argument: ${key}` });
  return v;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

function bearer(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m?.[1];
}

function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

async function parseMultipart(raw: Buffer, contentType: string): Promise<Record<string, unknown>> {
  const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
  const out: Record<string, unknown> = {};
  for (const [key, value] of form.entries()) {
    out[key] = typeof value === 'string' ? value : Buffer.from(await value.arrayBuffer());
  }
  return out;
}

function decodeJsonFields(fields: Record<string, unknown>): void {
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (!JSON_FIELDS.has(key) || typeof value !== 'string') continue;
    try {
      fields[key] = JSON.parse(value) as unknown;
    } catch {
      // Left as a string: the handlers reject it the way Slack does (invalid_blocks_format / invalid_arguments).
    }
  }
}

async function parseBody(req: IncomingMessage, raw: Buffer, url: URL): Promise<ParsedBody> {
  const fields: Record<string, unknown> = Object.fromEntries(url.searchParams.entries());
  let encoding: BodyEncoding = 'query';
  const type = mediaType(req);
  if (raw.length > 0) {
    if (type === 'application/json') {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      if (!isObject(parsed)) throw new Error('JSON body must be an object');
      Object.assign(fields, parsed);
      encoding = 'json';
    } else if (type === 'multipart/form-data') {
      Object.assign(fields, await parseMultipart(raw, req.headers['content-type'] ?? ''));
      encoding = 'multipart';
    } else {
      Object.assign(fields, Object.fromEntries(new URLSearchParams(raw.toString('utf8')).entries()));
      encoding = 'form';
    }
  }
  decodeJsonFields(fields);
  return { fields, encoding };
}

function send(res: ServerResponse, reply: Reply): void {
  const body = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...reply.headers,
  });
  res.end(body);
}

function okReply(body: Record<string, unknown>): Reply {
  return { status: 200, body: { ok: true, ...body } };
}

function errorReply(error: string, extra: Record<string, unknown> = {}): Reply {
  return { status: 200, body: { ok: false, error, ...extra } };
}

function rateLimitedReply(retryAfterSeconds: number): Reply {
  return { status: 429, body: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(retryAfterSeconds) } };
}

class FakeSlackServer implements FakeSlack {
  readonly calls: RecordedCall[] = [];
  readonly violations: ViolationRecord[] = [];
  readonly responses: RecordedResponse[] = [];
  readonly uploads: UploadRecord[] = [];
  readonly downloads: DownloadRecord[] = [];
  readonly users = new Map<string, FakeUser>();
  readonly files = new Map<string, FakeFile>();
  readonly usergroups = new Map<string, string[]>();
  readonly validTokens: Set<string>;
  readonly token: string;
  readonly teamId: string;
  readonly teamName: string;
  readonly teamDomain: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly appId: string;
  apiUrl = '';
  baseUrl = '';

  private readonly strict: boolean;
  private readonly validateBlocks: boolean;
  private readonly faults = new Map<string, Fault[]>();
  private readonly custom = new Map<string, FakeMethodHandler>();
  private readonly builtins: Record<string, (args: Record<string, unknown>, call: RecordedCall) => Reply>;
  private readonly messages = new Map<string, StoredMessage>();
  private readonly views = new Map<string, StoredView>();
  private readonly homeViews = new Map<string, string>();
  private readonly stableIds = new Map<string, string>();
  private readonly channelPosts = new Map<string, number[]>();
  private channelRate: number | null = null;
  private waiters: Waiter[] = [];
  private seq = 0;
  private lastTsSeconds = 0;
  private server: Server | undefined;

  constructor(opts: FakeSlackOptions) {
    const d = FAKE_SLACK_DEFAULTS;
    this.token = opts.token ?? d.token;
    this.validTokens = new Set([this.token, ...(opts.extraTokens ?? [])]);
    this.teamId = opts.teamId ?? d.teamId;
    this.teamName = opts.teamName ?? d.teamName;
    this.teamDomain = opts.teamDomain ?? d.teamDomain;
    this.botUserId = opts.botUserId ?? d.botUserId;
    this.botId = opts.botId ?? d.botId;
    this.appId = opts.appId ?? d.appId;
    this.strict = opts.strict ?? false;
    this.validateBlocks = opts.validateBlocks ?? true;
    this.users.set(this.botUserId, { name: d.botName, real_name: 'Billops', is_bot: true });
    this.builtins = {
      'auth.test': () => this.authTest(),
      'chat.postMessage': (a) => this.postMessage(a),
      'chat.postEphemeral': (a) => this.postEphemeral(a),
      'chat.update': (a) => this.chatUpdate(a),
      'chat.delete': (a) => this.chatDelete(a),
      'chat.scheduleMessage': (a) => this.scheduleMessage(a),
      'chat.getPermalink': (a) => this.getPermalink(a),
      'views.open': (a) => this.viewsOpen(a, 'views.open'),
      'views.push': (a) => this.viewsOpen(a, 'views.push'),
      'views.update': (a) => this.viewsUpdate(a),
      'views.publish': (a) => this.viewsPublish(a),
      'conversations.open': (a) => this.conversationsOpen(a),
      'conversations.history': (a) => this.conversationsHistory(a),
      'users.info': (a) => this.usersInfo(a),
      'files.info': (a) => this.filesInfo(a),
      'files.getUploadURLExternal': (a) => this.getUploadUrl(a),
      'files.completeUploadExternal': (a) => this.completeUpload(a),
      'reactions.add': (a) => this.reactionsAdd(a),
      'usergroups.users.list': (a) => this.usergroupUsers(a),
    };
  }

  // ----- lifecycle -------------------------------------------------------------------------------------------

  async listen(): Promise<void> {
    const server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, { status: 500, body: { ok: false, error: 'fake_slack_internal_error', detail: String(err) } });
        else res.end();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.apiUrl = `${this.baseUrl}/api/`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // fetch (undici) keeps connections alive; without this close() waits for them to time out.
      server.closeAllConnections();
    });
  }

  // ----- routing ---------------------------------------------------------------------------------------------

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const path = url.pathname;
    const method = (req.method ?? 'GET').toUpperCase();
    const raw = await readBody(req);

    const api = /^\/api\/([A-Za-z0-9._-]+)$/.exec(path);
    if (api?.[1] && (method === 'POST' || method === 'GET')) return this.handleApi(api[1], req, raw, url, res);

    const upload = /^\/upload\/v1\/([A-Za-z0-9]+)$/.exec(path);
    if (upload?.[1] && method === 'POST') return this.handleUpload(upload[1], req, raw, res);

    const download = /^\/files-pri\/[A-Za-z0-9]+-([A-Za-z0-9]+)\/(?:download\/)?[^/]+$/.exec(path);
    if (download?.[1] && method === 'GET') return this.handleDownload(download[1], req, res);

    const response = /^\/response\/([^/]+)$/.exec(path);
    if (response?.[1] && method === 'POST') return this.handleResponseUrl(decodeURIComponent(response[1]), req, raw, url, res);

    send(res, { status: 404, body: { ok: false, error: 'not_found', path } });
  }

  private async handleApi(method: string, req: IncomingMessage, raw: Buffer, url: URL, res: ServerResponse): Promise<void> {
    const at = Date.now();
    let parsed: ParsedBody;
    try {
      parsed = await parseBody(req, raw, url);
    } catch {
      send(res, errorReply('invalid_json'));
      return;
    }
    const { fields, encoding } = parsed;
    const bodyToken = encoding === 'json' ? undefined : str(fields['token']);
    delete fields['token'];
    const call: RecordedCall = {
      method,
      args: fields,
      token: bearer(req.headers.authorization) ?? bodyToken,
      at,
      encoding,
      violations: [],
      status: 200,
      response: {},
    };
    const reply = await this.dispatch(call);
    call.status = reply.status;
    call.response = reply.body;
    this.calls.push(call);
    send(res, reply);
    this.notify();
  }

  private async dispatch(call: RecordedCall): Promise<Reply> {
    const { method, args } = call;
    const fault = this.takeFault(method);
    if (fault?.kind === 'ratelimit') return rateLimitedReply(fault.retryAfterSeconds);
    if (fault?.kind === 'error') return errorReply(fault.error, fault.extra);

    const customHandler = this.custom.get(method);
    const builtin = this.builtins[method];
    if (!customHandler && !builtin) return errorReply('unknown_method', { req_method: method });

    if (call.token === undefined) return errorReply('not_authed');
    if (!this.validTokens.has(call.token)) return errorReply('invalid_auth');

    if (method === 'chat.postMessage' && this.channelRate !== null) {
      const retryAfter = this.paceChannel(this.resolveChannel(str(args['channel']) ?? ''));
      if (retryAfter !== undefined) return rateLimitedReply(retryAfter);
    }

    if (this.validateBlocks) {
      const rejected = this.checkBlockKit(call);
      if (rejected) return rejected;
    }

    try {
      if (customHandler) return okReply(await customHandler(args, call));
      if (builtin) return builtin(args, call);
      return errorReply('unknown_method', { req_method: method });
    } catch (err) {
      if (err instanceof FakeSlackApiError) return errorReply(err.error, err.extra);
      throw err;
    }
  }

  private takeFault(method: string): Fault | undefined {
    const queue = this.faults.get(method);
    const fault = queue?.shift();
    if (queue && queue.length === 0) this.faults.delete(method);
    return fault;
  }

  private paceChannel(channel: string): number | undefined {
    const limit = this.channelRate;
    if (limit === null) return undefined;
    const now = Date.now();
    const recent = (this.channelPosts.get(channel) ?? []).filter((t) => now - t < 1000);
    if (recent.length >= limit) {
      this.channelPosts.set(channel, recent);
      const oldest = recent[0] ?? now;
      return Math.max(1, Math.ceil((oldest + 1000 - now) / 1000));
    }
    recent.push(now);
    this.channelPosts.set(channel, recent);
    return undefined;
  }

  /** Returns a rejection reply when the call violates Block Kit limits. */
  private checkBlockKit(call: RecordedCall): Reply | undefined {
    const { method, args } = call;
    let errors: string[] = [];
    let errorCode = 'invalid_blocks';
    if (MESSAGE_METHODS.has(method)) {
      errors = validateBlockKit('message', args);
      if (errors.length > 0 && errors.every((e) => e.startsWith('text:'))) errorCode = 'msg_too_long';
    } else if (method.startsWith('views.') && isObject(args['view'])) {
      const view = args['view'];
      const kind: BlockKitSurface = method === 'views.publish' ? 'home' : method === 'views.update' && view['type'] === 'home' ? 'home' : 'modal';
      errors = validateBlockKit(kind, view).map((e) => `view.${e}`);
      // Slack rejects bad views with invalid_arguments and the details in response_metadata.messages.
      errorCode = 'invalid_arguments';
    }
    if (errors.length === 0) return undefined;
    call.violations = errors;
    this.violations.push({ method, errors, at: call.at });
    return errorReply(errorCode, { errors, response_metadata: { messages: errors.map((e) => `[ERROR] ${e}`) } });
  }

  private notify(): void {
    this.waiters = this.waiters.filter((w) => !w.check());
  }

  private waitFor<T>(probe: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    const found = probe();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          const item = probe();
          if (item === undefined) return false;
          clearTimeout(timer);
          resolve(item);
          return true;
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`fake-slack: timed out after ${timeoutMs} ms waiting for ${describe()}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  // ----- ids -------------------------------------------------------------------------------------------------

  private nextId(prefix: string): string {
    this.seq += 1;
    return `${prefix}${this.seq.toString(36).toUpperCase().padStart(9, '0')}`;
  }

  private nextTs(): string {
    const nowSec = Math.floor(Date.now() / 1000);
    this.lastTsSeconds = Math.max(this.lastTsSeconds, nowSec);
    this.seq += 1;
    return `${this.lastTsSeconds}.${String(this.seq % 1_000_000).padStart(6, '0')}`;
  }

  private stableId(key: string, prefix: string): string {
    let id = this.stableIds.get(key);
    if (!id) {
      id = this.nextId(prefix);
      this.stableIds.set(key, id);
    }
    return id;
  }

  dmChannelFor(userId: string): string {
    return this.stableId(`im:${userId}`, 'D');
  }

  /** Posting to a user id lands in the DM with that user, as on Slack. */
  private resolveChannel(channel: string): string {
    return /^[UW][A-Z0-9]+$/.test(channel) ? this.dmChannelFor(channel) : channel;
  }

  // ----- public helpers --------------------------------------------------------------------------------------

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  lastCall(method: string): RecordedCall | undefined {
    return this.callsTo(method).at(-1);
  }

  waitForCall(method: string, opts: WaitOptions<RecordedCall> = {}): Promise<RecordedCall> {
    const { timeoutMs = 2000, match, count = 1 } = opts;
    const matching = () => this.calls.filter((c) => c.method === method && (!match || match(c)));
    return this.waitFor(
      () => matching()[count - 1],
      timeoutMs,
      () =>
        `${count} call(s) to ${method}${match ? ' (matching)' : ''}; saw ${matching().length}. ` +
        `Calls so far: ${this.calls.map((c) => c.method).join(', ') || '(none)'}`,
    );
  }

  waitForResponse(opts: WaitOptions<RecordedResponse> & { id?: string } = {}): Promise<RecordedResponse> {
    const { timeoutMs = 2000, match, count = 1, id } = opts;
    const matching = () => this.responses.filter((r) => (id === undefined || r.id === id) && (!match || match(r)));
    return this.waitFor(
      () => matching()[count - 1],
      timeoutMs,
      () => `${count} response_url post(s)${id ? ` to ${id}` : ''}; saw ${matching().length}`,
    );
  }

  responseUrl(id: string = randomBytes(6).toString('hex')): string {
    return `${this.baseUrl}/response/${encodeURIComponent(id)}`;
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    return this.messages.get(`${this.resolveChannel(channel)}:${ts}`);
  }

  failNext(method: string, opts: FailOptions): void {
    const queue = this.faults.get(method) ?? [];
    for (let i = 0; i < (opts.times ?? 1); i += 1) queue.push({ kind: 'error', error: opts.error, extra: opts.extra ?? {} });
    this.faults.set(method, queue);
  }

  rateLimitNext(method: string, opts: RateLimitOptions = {}): void {
    const queue = this.faults.get(method) ?? [];
    for (let i = 0; i < (opts.times ?? 1); i += 1) queue.push({ kind: 'ratelimit', retryAfterSeconds: opts.retryAfterSeconds ?? 1 });
    this.faults.set(method, queue);
  }

  enforceChannelRate(perSecond: number | null): void {
    if (perSecond !== null && (!Number.isFinite(perSecond) || perSecond < 1)) {
      throw new RangeError(`enforceChannelRate: perSecond must be >= 1 or null, got ${perSecond}`);
    }
    this.channelRate = perSecond;
    this.channelPosts.clear();
  }

  handle(method: string, handler: FakeMethodHandler): void {
    this.custom.set(method, handler);
  }

  assertNoViolations(): void {
    if (this.violations.length === 0) return;
    const lines = this.violations.flatMap((v) => v.errors.map((e) => `  ${v.method}: ${e}`));
    throw new Error(`fake-slack: ${this.violations.length} call(s) violated Block Kit limits:\n${lines.join('\n')}`);
  }

  reset(): void {
    this.calls.length = 0;
    this.violations.length = 0;
    this.responses.length = 0;
    this.uploads.length = 0;
    this.downloads.length = 0;
    this.faults.clear();
    this.channelPosts.clear();
    this.messages.clear();
    this.views.clear();
    this.homeViews.clear();
  }

  // ----- built-in methods ------------------------------------------------------------------------------------

  private authTest(): Reply {
    return okReply({
      url: `https://${this.teamDomain}.slack.com/`,
      team: this.teamName,
      user: FAKE_SLACK_DEFAULTS.botName,
      team_id: this.teamId,
      user_id: this.botUserId,
      bot_id: this.botId,
      is_enterprise_install: false,
    });
  }

  private messageEcho(m: StoredMessage): Record<string, unknown> {
    const echo: Record<string, unknown> = {
      type: 'message',
      text: m.text ?? '',
      user: this.botUserId,
      bot_id: this.botId,
      app_id: this.appId,
      team: this.teamId,
      ts: m.ts,
    };
    if (m.blocks !== undefined) echo['blocks'] = m.blocks;
    if (m.attachments !== undefined) echo['attachments'] = m.attachments;
    if (m.threadTs !== undefined) echo['thread_ts'] = m.threadTs;
    return echo;
  }

  private requireContent(args: Record<string, unknown>): void {
    const hasText = typeof args['text'] === 'string' && args['text'].length > 0;
    const hasMarkdown = typeof args['markdown_text'] === 'string' && args['markdown_text'].length > 0;
    const hasBlocks = args['blocks'] !== undefined;
    const hasAttachments = args['attachments'] !== undefined;
    if (!hasText && !hasMarkdown && !hasBlocks && !hasAttachments) fail('no_text');
    if (hasBlocks && !Array.isArray(args['blocks'])) fail('invalid_blocks_format');
    if (hasAttachments && !Array.isArray(args['attachments'])) fail('invalid_attachments');
  }

  private postMessage(args: Record<string, unknown>): Reply {
    const channel = this.resolveChannel(required(args, 'channel', 'channel_not_found'));
    this.requireContent(args);
    const m: StoredMessage = {
      channel,
      ts: this.nextTs(),
      text: str(args['text']),
      blocks: args['blocks'],
      attachments: args['attachments'],
      threadTs: str(args['thread_ts']),
      deleted: false,
      reactions: [],
    };
    this.messages.set(`${channel}:${m.ts}`, m);
    return okReply({ channel, ts: m.ts, message: this.messageEcho(m) });
  }

  private postEphemeral(args: Record<string, unknown>): Reply {
    required(args, 'channel', 'channel_not_found');
    required(args, 'user', 'user_not_in_channel');
    this.requireContent(args);
    // Ephemeral messages are not stored by Slack: they cannot be updated through chat.update.
    return okReply({ message_ts: this.nextTs() });
  }

  private scheduleMessage(args: Record<string, unknown>): Reply {
    const channel = this.resolveChannel(required(args, 'channel', 'channel_not_found'));
    const postAt = Number(required(args, 'post_at', 'invalid_time'));
    if (!Number.isFinite(postAt) || postAt * 1000 < Date.now()) fail('time_in_past');
    this.requireContent(args);
    return okReply({
      channel,
      scheduled_message_id: this.nextId('Q'),
      post_at: postAt,
      message: { type: 'delayed_message', text: str(args['text']) ?? '', bot_id: this.botId, user: this.botUserId },
    });
  }

  private findMessage(channelArg: unknown, tsArg: unknown): { key: string; message: StoredMessage | undefined; channel: string; ts: string } {
    const channel = this.resolveChannel(str(channelArg) ?? fail('channel_not_found'));
    const ts = str(tsArg) ?? fail('message_not_found');
    const key = `${channel}:${ts}`;
    const message = this.messages.get(key);
    if ((!message || message.deleted) && this.strict) fail('message_not_found');
    return { key, message: message?.deleted ? undefined : message, channel, ts };
  }

  private chatUpdate(args: Record<string, unknown>): Reply {
    const { key, message, channel, ts } = this.findMessage(args['channel'], args['ts']);
    if (args['blocks'] !== undefined && !Array.isArray(args['blocks'])) fail('invalid_blocks_format');
    const updated: StoredMessage = {
      channel,
      ts,
      text: args['text'] !== undefined ? str(args['text']) : message?.text,
      blocks: args['blocks'] !== undefined ? args['blocks'] : message?.blocks,
      attachments: args['attachments'] !== undefined ? args['attachments'] : message?.attachments,
      threadTs: message?.threadTs,
      deleted: false,
      reactions: message?.reactions ?? [],
    };
    this.messages.set(key, updated);
    return okReply({ channel, ts, text: updated.text ?? '', message: this.messageEcho(updated) });
  }

  private chatDelete(args: Record<string, unknown>): Reply {
    const { message, channel, ts } = this.findMessage(args['channel'], args['ts']);
    if (message) message.deleted = true;
    return okReply({ channel, ts });
  }

  private getPermalink(args: Record<string, unknown>): Reply {
    const channel = required(args, 'channel', 'channel_not_found');
    const ts = required(args, 'message_ts', 'message_not_found');
    return okReply({ channel, permalink: `https://${this.teamDomain}.slack.com/archives/${channel}/p${ts.replace('.', '')}` });
  }

  private viewBody(stored: StoredView): Record<string, unknown> {
    const v = stored.view;
    const type = str(v['type']) ?? 'modal';
    const plain = (value: unknown): unknown => value ?? null;
    return {
      id: stored.id,
      team_id: this.teamId,
      type,
      blocks: Array.isArray(v['blocks']) ? v['blocks'] : [],
      private_metadata: str(v['private_metadata']) ?? '',
      callback_id: str(v['callback_id']) ?? '',
      state: { values: {} },
      hash: stored.hash,
      title: plain(v['title']),
      clear_on_close: v['clear_on_close'] === true,
      notify_on_close: v['notify_on_close'] === true,
      close: plain(v['close']),
      submit: plain(v['submit']),
      previous_view_id: stored.previousViewId,
      root_view_id: stored.rootViewId,
      app_id: this.appId,
      external_id: str(v['external_id']) ?? '',
      app_installed_team_id: this.teamId,
      bot_id: this.botId,
    };
  }

  private requireView(args: Record<string, unknown>): Record<string, unknown> {
    const view = args['view'];
    if (!isObject(view)) fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: view'] } });
    return view;
  }

  private storeView(view: Record<string, unknown>, id: string, rootViewId: string, previousViewId: string | null): StoredView {
    const stored: StoredView = { id, hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`, view, rootViewId, previousViewId };
    this.views.set(id, stored);
    return stored;
  }

  private viewsOpen(args: Record<string, unknown>, method: 'views.open' | 'views.push'): Reply {
    required(args, 'trigger_id', 'invalid_trigger_id');
    const view = this.requireView(args);
    if (view['type'] !== 'modal') fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] view.type must be modal'] } });
    const id = this.nextId('V');
    const modals = [...this.views.values()].filter((v) => v.view['type'] === 'modal');
    const previous = method === 'views.push' ? (modals.at(-1)?.id ?? null) : null;
    const stored = this.storeView(view, id, previous ?? id, previous);
    return okReply({ view: this.viewBody(stored) });
  }

  private viewsUpdate(args: Record<string, unknown>): Reply {
    const view = this.requireView(args);
    const viewId = str(args['view_id']);
    const externalId = str(args['external_id']);
    if (!viewId && !externalId) fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] view_id or external_id is required'] } });
    let existing: StoredView | undefined;
    if (viewId) existing = this.views.get(viewId);
    else existing = [...this.views.values()].find((v) => v.view['external_id'] === externalId);
    if (!existing && this.strict) fail('not_found');
    const hash = str(args['hash']);
    if (existing && hash !== undefined && hash !== existing.hash) fail('hash_conflict');
    const id = existing?.id ?? viewId ?? this.nextId('V');
    const stored = this.storeView(view, id, existing?.rootViewId ?? id, existing?.previousViewId ?? null);
    return okReply({ view: this.viewBody(stored) });
  }

  private viewsPublish(args: Record<string, unknown>): Reply {
    const userId = required(args, 'user_id', 'invalid_arguments');
    const view = this.requireView(args);
    if (view['type'] !== 'home') fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] view.type must be home'] } });
    const existingId = this.homeViews.get(userId);
    const existing = existingId === undefined ? undefined : this.views.get(existingId);
    const hash = str(args['hash']);
    if (existing && hash !== undefined && hash !== existing.hash) fail('hash_conflict');
    const id = existing?.id ?? this.nextId('V');
    this.homeViews.set(userId, id);
    return okReply({ view: this.viewBody(this.storeView(view, id, id, null)) });
  }

  private conversationsOpen(args: Record<string, unknown>): Reply {
    const channel = str(args['channel']);
    if (channel) return okReply({ no_op: true, already_open: true, channel: { id: channel } });
    const users = (str(args['users']) ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean);
    if (users.length === 0) fail('users_list_not_supplied');
    for (const u of users) if (!this.users.has(u) && this.strict) fail('user_not_found');
    const first = users[0];
    if (users.length === 1 && first !== undefined) {
      return okReply({ no_op: false, already_open: false, channel: { id: this.dmChannelFor(first) } });
    }
    return okReply({ no_op: false, already_open: false, channel: { id: this.stableId(`mpim:${[...users].sort().join(',')}`, 'G') } });
  }

  /** Only what billops posted through the fake: the messages of `channel` with latest ≥ ts ≥ oldest, newest first. */
  private conversationsHistory(args: Record<string, unknown>): Reply {
    const channel = this.resolveChannel(required(args, 'channel', 'channel_not_found'));
    const latest = str(args['latest']);
    const oldest = str(args['oldest']);
    const inclusive = str(args['inclusive']) === 'true' || str(args['inclusive']) === '1';
    const limit = Number(str(args['limit']) ?? '100');
    const after = (ts: string, bound: string | undefined, orEqual: boolean) => bound === undefined || Number(ts) > Number(bound) || (orEqual && ts === bound);
    const messages = [...this.messages.values()]
      .filter((m) => m.channel === channel && !m.deleted && m.threadTs === undefined)
      .filter((m) => after(m.ts, oldest, inclusive) && (latest === undefined || Number(m.ts) < Number(latest) || (inclusive && m.ts === latest)))
      .sort((a, b) => Number(b.ts) - Number(a.ts))
      .slice(0, limit)
      .map((m) => this.messageEcho(m));
    return okReply({ messages, has_more: false, pin_count: 0, response_metadata: { next_cursor: '' } });
  }

  private usersInfo(args: Record<string, unknown>): Reply {
    const id = required(args, 'user', 'user_not_found');
    const u = this.users.get(id) ?? fail('user_not_found');
    const name = u.name ?? id.toLowerCase();
    const realName = u.real_name ?? name;
    const tz = u.tz ?? 'Europe/London';
    return okReply({
      user: {
        id,
        team_id: this.teamId,
        name,
        deleted: u.deleted ?? false,
        real_name: realName,
        tz,
        tz_label: tz,
        tz_offset: 0,
        is_admin: u.is_admin ?? false,
        is_owner: u.is_owner ?? false,
        is_bot: u.is_bot ?? false,
        is_app_user: false,
        updated: 1_700_000_000,
        profile: {
          real_name: realName,
          real_name_normalized: realName,
          display_name: u.display_name ?? name,
          display_name_normalized: u.display_name ?? name,
          ...(u.email !== undefined ? { email: u.email } : {}),
          image_72: `https://avatars.slack-edge.test/${id}_72.png`,
          team: this.teamId,
          ...u.profile,
        },
      },
    });
  }

  private fileUrl(id: string, name: string, download = false): string {
    return `${this.baseUrl}/files-pri/${this.teamId}-${id}/${download ? 'download/' : ''}${encodeURIComponent(name)}`;
  }

  private fileBody(id: string, f: FakeFile): Record<string, unknown> {
    const ext = f.name.includes('.') ? (f.name.split('.').pop() ?? '').toLowerCase() : '';
    const created = f.created ?? Math.floor(Date.now() / 1000);
    return {
      id,
      created,
      timestamp: created,
      name: f.name,
      title: f.title ?? f.name,
      mimetype: f.mimetype ?? MIME_BY_EXT[ext] ?? 'application/octet-stream',
      filetype: f.filetype ?? (ext || 'binary'),
      pretty_type: (f.filetype ?? ext ?? 'binary').toUpperCase(),
      user: f.user ?? this.botUserId,
      user_team: this.teamId,
      size: Buffer.byteLength(f.content),
      url_private: this.fileUrl(id, f.name),
      url_private_download: this.fileUrl(id, f.name, true),
      permalink: `https://${this.teamDomain}.slack.com/files/${f.user ?? this.botUserId}/${id}/${encodeURIComponent(f.name)}`,
      is_external: false,
      is_public: false,
    };
  }

  private filesInfo(args: Record<string, unknown>): Reply {
    const id = required(args, 'file', 'file_not_found');
    const f = this.files.get(id) ?? fail('file_not_found');
    return okReply({ file: this.fileBody(id, f), comments: [], response_metadata: { next_cursor: '' } });
  }

  private getUploadUrl(args: Record<string, unknown>): Reply {
    const filename = required(args, 'filename', 'invalid_arguments');
    const length = Number(required(args, 'length', 'invalid_arguments'));
    if (!Number.isInteger(length) || length < 0) fail('invalid_arguments', { detail: 'length must be a non-negative integer' });
    const fileId = this.nextId('F');
    const record: UploadRecord = { fileId, filename, declaredLength: length, bytes: undefined, completed: false };
    const alt = str(args['alt_text']);
    if (alt !== undefined) record.altText = alt;
    this.uploads.push(record);
    return okReply({ upload_url: `${this.baseUrl}/upload/v1/${fileId}`, file_id: fileId });
  }

  private completeUpload(args: Record<string, unknown>): Reply {
    const files = args['files'];
    if (!Array.isArray(files) || files.length === 0) fail('invalid_arguments', { detail: 'files must be a non-empty JSON array' });
    const channelId = str(args['channel_id']);
    const threadTs = str(args['thread_ts']);
    const initialComment = str(args['initial_comment']);
    const out: Record<string, unknown>[] = [];
    for (const entry of files) {
      const id = isObject(entry) ? str(entry['id']) : undefined;
      const record = this.uploads.find((u) => u.fileId === id);
      if (!record || !id) fail('file_not_found', { detail: `unknown file id ${String(id)}` });
      if (record.bytes === undefined) fail('file_upload_not_found', { detail: `nothing was uploaded for ${id}` });
      if (record.bytes.length !== record.declaredLength) {
        fail('file_upload_size_mismatch', { detail: `declared ${record.declaredLength} bytes, received ${record.bytes.length}` });
      }
      record.completed = true;
      const title = isObject(entry) ? str(entry['title']) : undefined;
      if (title !== undefined) record.title = title;
      if (channelId !== undefined) record.channelId = channelId;
      if (threadTs !== undefined) record.threadTs = threadTs;
      if (initialComment !== undefined) record.initialComment = initialComment;
      const file: FakeFile = { name: record.filename, content: record.bytes, title: title ?? record.filename };
      this.files.set(id, file);
      const body = this.fileBody(id, file);
      if (channelId) body['channels'] = [channelId];
      out.push(body);
    }
    return okReply({ files: out });
  }

  private reactionsAdd(args: Record<string, unknown>): Reply {
    if (str(args['channel']) === undefined || str(args['timestamp']) === undefined) fail('no_item_specified');
    const name = str(args['name']);
    if (!name) fail('invalid_name');
    const { key, message, channel, ts } = this.findMessage(args['channel'], args['timestamp']);
    const target = message ?? {
      channel,
      ts,
      text: undefined,
      blocks: undefined,
      attachments: undefined,
      threadTs: undefined,
      deleted: false,
      reactions: [],
    };
    if (target.reactions.includes(name)) fail('already_reacted');
    target.reactions.push(name);
    this.messages.set(key, target);
    return okReply({});
  }

  private usergroupUsers(args: Record<string, unknown>): Reply {
    const id = required(args, 'usergroup', 'no_such_subteam');
    const members = this.usergroups.get(id) ?? fail('no_such_subteam');
    return okReply({ users: [...members] });
  }

  // ----- non-API routes --------------------------------------------------------------------------------------

  private async handleUpload(fileId: string, req: IncomingMessage, raw: Buffer, res: ServerResponse): Promise<void> {
    const record = this.uploads.find((u) => u.fileId === fileId);
    if (!record) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('upload url not found');
      return;
    }
    let bytes = raw;
    if (mediaType(req) === 'multipart/form-data') {
      // WebClient posts the file as a multipart form with a single file part.
      const fields = await parseMultipart(raw, req.headers['content-type'] ?? '');
      const file = Object.values(fields).find((v): v is Buffer => Buffer.isBuffer(v));
      bytes = file ?? Buffer.alloc(0);
    }
    record.bytes = bytes;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`OK - ${bytes.length}`);
  }

  private handleDownload(fileId: string, req: IncomingMessage, res: ServerResponse): void {
    const token = bearer(req.headers.authorization);
    const authorized = token !== undefined && this.validTokens.has(token);
    this.downloads.push({ fileId, authorized, at: Date.now() });
    const file = this.files.get(fileId);
    if (!authorized) {
      // Like Slack: no/invalid token gets the HTML sign-in page with a 200, not the file.
      const html = '<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>';
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
      return;
    }
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('file not found');
      return;
    }
    const body = Buffer.isBuffer(file.content) ? file.content : Buffer.from(file.content);
    const ext = (file.name.split('.').pop() ?? '').toLowerCase();
    res.writeHead(200, {
      'content-type': file.mimetype ?? MIME_BY_EXT[ext] ?? 'application/octet-stream',
      'content-length': body.length,
      'content-disposition': `attachment; filename="${file.name.replace(/"/g, '')}"`,
    });
    res.end(body);
  }

  private async handleResponseUrl(id: string, req: IncomingMessage, raw: Buffer, url: URL, res: ServerResponse): Promise<void> {
    const at = Date.now();
    let body: Record<string, unknown>;
    try {
      const { fields } = await parseBody(req, raw, url);
      const payload = fields['payload'];
      body = typeof payload === 'string' ? (JSON.parse(payload) as Record<string, unknown>) : fields;
    } catch {
      send(res, { status: 400, body: { ok: false, error: 'invalid_payload' } });
      return;
    }
    const record: RecordedResponse = { id, body, at, violations: [], status: 200 };
    let reply: Reply = { status: 200, body: { ok: true } };
    const fault = this.takeFault(RESPONSE_URL);
    if (fault?.kind === 'ratelimit') reply = rateLimitedReply(fault.retryAfterSeconds);
    else if (fault?.kind === 'error') reply = { status: 404, body: { ok: false, error: fault.error, ...fault.extra } };
    else if (this.validateBlocks && body['delete_original'] !== true) {
      const errors = validateBlockKit('message', body);
      if (errors.length > 0) {
        record.violations = errors;
        this.violations.push({ method: RESPONSE_URL, errors, at });
        reply = { status: 400, body: { ok: false, error: 'invalid_blocks', errors } };
      }
    }
    record.status = reply.status;
    this.responses.push(record);
    send(res, reply);
    this.notify();
  }
}

/** Start a fake Slack Web API on 127.0.0.1 (random port). Remember to `close()` it. */
export async function startFakeSlack(opts: FakeSlackOptions = {}): Promise<FakeSlack> {
  const fake = new FakeSlackServer(opts);
  await fake.listen();
  return fake;
}
