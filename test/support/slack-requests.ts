/**
 * Send real, signed Slack requests (slash commands, interactions, Events API) to a running Bolt HTTPReceiver.
 *
 * Signing is exactly Slack's: `X-Slack-Request-Timestamp: <seconds>` and
 * `X-Slack-Signature: v0=<hex HMAC-SHA256(signingSecret, "v0:<ts>:<raw body>")>`.
 *
 * Bolt gotcha: HTTPReceiver only treats a body as form data when Content-Type is *exactly*
 * `application/x-www-form-urlencoded` (no `; charset=...`), so never hand fetch a URLSearchParams body
 * (it would add the charset and Bolt would try to JSON.parse the form and answer 400/401).
 */
import { createHmac, randomBytes } from 'node:crypto';
import type {
  BlockAction,
  BlockElementAction,
  EnvelopedEvent,
  GlobalShortcut,
  MessageShortcut,
  SlashCommand,
  ViewClosedAction,
  ViewOutput,
  ViewStateValue,
  ViewSubmitAction,
} from '@slack/bolt';
import { FAKE_SLACK_DEFAULTS } from './fake-slack.js';

// ---------------------------------------------------------------------------------------------------------------
// Defaults (same workspace as the fake Web API)
// ---------------------------------------------------------------------------------------------------------------

export const SLACK_TEST_IDS = {
  teamId: FAKE_SLACK_DEFAULTS.teamId,
  teamDomain: FAKE_SLACK_DEFAULTS.teamDomain,
  appId: FAKE_SLACK_DEFAULTS.appId,
  botUserId: FAKE_SLACK_DEFAULTS.botUserId,
  botId: FAKE_SLACK_DEFAULTS.botId,
  userId: 'U0ALICE01',
  userName: 'alice',
  channelId: 'C0BILLING',
  channelName: 'billing-ops',
  /** Legacy verification token (Slack still sends it; Bolt ignores it). */
  verificationToken: 'legacy-verification-token',
  /**
   * Default response_url: a closed local port, so a handler that calls respond() without the test providing
   * `fake.responseUrl()` fails fast instead of reaching hooks.slack.com.
   */
  responseUrl: 'http://127.0.0.1:9/response-url-not-configured',
} as const;

// ---------------------------------------------------------------------------------------------------------------
// Signing and transport
// ---------------------------------------------------------------------------------------------------------------

export interface SignedRequestOptions {
  /** X-Slack-Request-Timestamp in epoch seconds (default: now). */
  timestamp?: number;
  /** Sign with this secret instead of the real one. */
  secretOverride?: string;
  /** Sign the original body but send a modified one (true: append a field; or supply the modification). */
  tamperBody?: boolean | ((rawBody: string) => string);
  omitSignature?: boolean;
  omitTimestamp?: boolean;
  /** Receiver endpoint path. Default '/slack/events'. */
  path?: string;
  /** X-Slack-Retry-Num / X-Slack-Retry-Reason, as on Events API redeliveries. */
  retryNum?: number;
  retryReason?: string;
  headers?: Record<string, string>;
}

export interface SlackHttpResponse {
  status: number;
  headers: Record<string, string>;
  text: string;
  /** Parse `text` as JSON (throws with the body in the message if it is not JSON). */
  json(): unknown;
}

export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
export const JSON_CONTENT_TYPE = 'application/json';

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** `v0=` + hex HMAC-SHA256(secret, `v0:${timestamp}:${rawBody}`). */
export function slackSignature(signingSecret: string, timestamp: number, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

function tamper(rawBody: string, contentType: string, how: SignedRequestOptions['tamperBody']): string {
  if (typeof how === 'function') return how(rawBody);
  if (contentType === JSON_CONTENT_TYPE && rawBody.endsWith('}')) return `${rawBody.slice(0, -1)},"tampered":true}`;
  return `${rawBody}&tampered=1`;
}

function joinUrl(baseUrl: string, path: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** Send `rawBody` with Slack's signature headers. The lower-level primitive behind the send* helpers. */
export async function sendSignedRequest(
  baseUrl: string,
  signingSecret: string,
  rawBody: string,
  contentType: string,
  opts: SignedRequestOptions = {},
): Promise<SlackHttpResponse> {
  const timestamp = opts.timestamp ?? nowSeconds();
  const headers: Record<string, string> = { 'content-type': contentType, ...opts.headers };
  if (!opts.omitTimestamp) headers['x-slack-request-timestamp'] = String(timestamp);
  if (!opts.omitSignature) headers['x-slack-signature'] = slackSignature(opts.secretOverride ?? signingSecret, timestamp, rawBody);
  if (opts.retryNum !== undefined) headers['x-slack-retry-num'] = String(opts.retryNum);
  if (opts.retryReason !== undefined) headers['x-slack-retry-reason'] = opts.retryReason;
  const body = opts.tamperBody ? tamper(rawBody, contentType, opts.tamperBody) : rawBody;

  const res = await fetch(joinUrl(baseUrl, opts.path ?? '/slack/events'), { method: 'POST', headers, body });
  const text = await res.text();
  return {
    status: res.status,
    headers: Object.fromEntries(res.headers.entries()),
    text,
    json(): unknown {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new Error(`Response (HTTP ${res.status}) is not JSON: ${JSON.stringify(text.slice(0, 500))}`);
      }
    },
  };
}

function formEncode(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
}

// ---------------------------------------------------------------------------------------------------------------
// Slash commands
// ---------------------------------------------------------------------------------------------------------------

export type SlashCommandFields = Partial<SlashCommand> & { command: string };

/** Slack's slash command form with realistic defaults for everything not given. */
export function slashCommandBody(fields: SlashCommandFields): Record<string, string> {
  const ids = SLACK_TEST_IDS;
  const merged: Record<string, unknown> = {
    token: ids.verificationToken,
    team_id: ids.teamId,
    team_domain: ids.teamDomain,
    channel_id: ids.channelId,
    channel_name: ids.channelName,
    user_id: ids.userId,
    user_name: ids.userName,
    text: '',
    api_app_id: ids.appId,
    is_enterprise_install: 'false',
    response_url: ids.responseUrl,
    trigger_id: triggerId(),
    ...fields,
  };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(merged)) if (v !== undefined && v !== null) out[k] = String(v);
  return out;
}

export function sendSlashCommand(
  baseUrl: string,
  signingSecret: string,
  fields: SlashCommandFields,
  opts?: SignedRequestOptions,
): Promise<SlackHttpResponse> {
  return sendSignedRequest(baseUrl, signingSecret, formEncode(slashCommandBody(fields)), FORM_CONTENT_TYPE, opts);
}

// ---------------------------------------------------------------------------------------------------------------
// Interactivity (block_actions, view_submission, view_closed, shortcuts)
// ---------------------------------------------------------------------------------------------------------------

export type InteractionPayload = BlockAction | ViewSubmitAction | ViewClosedAction | GlobalShortcut | MessageShortcut;

/** POST `payload=<json>` form-encoded, as Slack delivers interactions. Accepts a builder result or any raw payload. */
export function sendInteraction(
  baseUrl: string,
  signingSecret: string,
  payload: InteractionPayload | Record<string, unknown>,
  opts?: SignedRequestOptions,
): Promise<SlackHttpResponse> {
  return sendSignedRequest(baseUrl, signingSecret, formEncode({ payload: JSON.stringify(payload) }), FORM_CONTENT_TYPE, opts);
}

export function triggerId(): string {
  return `${Date.now()}.${Math.floor(Math.random() * 1e12)}.${randomBytes(16).toString('hex')}`;
}

export function actionTs(): string {
  const ms = Date.now();
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1000).padStart(6, '0')}`;
}

export interface TestUser {
  id?: string;
  username?: string;
  teamId?: string;
}

function payloadUser(user: TestUser = {}): { id: string; username: string; name: string; team_id: string } {
  const username = user.username ?? SLACK_TEST_IDS.userName;
  return { id: user.id ?? SLACK_TEST_IDS.userId, username, name: username, team_id: user.teamId ?? SLACK_TEST_IDS.teamId };
}

function payloadTeam(teamId?: string): { id: string; domain: string } {
  return { id: teamId ?? SLACK_TEST_IDS.teamId, domain: SLACK_TEST_IDS.teamDomain };
}

/** State values as Slack reports them in `view.state.values[blockId][actionId]`. */
export const stateValue = {
  plainText: (value: string | null): ViewStateValue => ({ type: 'plain_text_input', value }),
  staticSelect: (value: string, text: string = value): ViewStateValue => ({
    type: 'static_select',
    selected_option: { text: { type: 'plain_text', text, emoji: true }, value },
  }),
  multiStaticSelect: (values: string[]): ViewStateValue => ({
    type: 'multi_static_select',
    selected_options: values.map((value) => ({ text: { type: 'plain_text', text: value, emoji: true }, value })),
  }),
  radio: (value: string, text: string = value): ViewStateValue => ({
    type: 'radio_buttons',
    selected_option: { text: { type: 'plain_text', text, emoji: true }, value },
  }),
  checkboxes: (values: string[]): ViewStateValue => ({
    type: 'checkboxes',
    selected_options: values.map((value) => ({ text: { type: 'plain_text', text: value, emoji: true }, value })),
  }),
  datepicker: (date: string | null): ViewStateValue => ({ type: 'datepicker', selected_date: date }),
  usersSelect: (userId: string | null): ViewStateValue => ({ type: 'users_select', selected_user: userId }),
  conversationsSelect: (id: string | null): ViewStateValue => ({ type: 'conversations_select', selected_conversation: id }),
} as const;

export type StateValues = Record<string, Record<string, ViewStateValue>>;

export interface ViewInput {
  id?: string;
  callbackId?: string;
  privateMetadata?: string;
  values?: StateValues;
  title?: string;
  blocks?: unknown[];
  hash?: string;
  externalId?: string;
  type?: 'modal' | 'home';
  previousViewId?: string | null;
  rootViewId?: string | null;
  submit?: string | null;
}

/** A `view` object as Slack includes it in interaction payloads. */
export function viewOutput(input: ViewInput = {}): ViewOutput {
  const id = input.id ?? `V${randomBytes(5).toString('hex').toUpperCase()}`;
  const type = input.type ?? 'modal';
  const plain = (text: string) => ({ type: 'plain_text' as const, text, emoji: true });
  return {
    id,
    team_id: SLACK_TEST_IDS.teamId,
    type,
    blocks: (input.blocks ?? []) as ViewOutput['blocks'],
    private_metadata: input.privateMetadata ?? '',
    callback_id: input.callbackId ?? '',
    state: { values: input.values ?? {} },
    hash: input.hash ?? `${nowSeconds()}.${randomBytes(4).toString('hex')}`,
    title: plain(input.title ?? 'Billops'),
    clear_on_close: false,
    notify_on_close: false,
    close: type === 'modal' ? plain('Cancel') : null,
    submit: type === 'modal' && input.submit !== null ? plain(input.submit ?? 'Submit') : null,
    previous_view_id: input.previousViewId ?? null,
    root_view_id: input.rootViewId === undefined ? id : input.rootViewId,
    app_id: SLACK_TEST_IDS.appId,
    external_id: input.externalId ?? '',
    app_installed_team_id: SLACK_TEST_IDS.teamId,
    bot_id: SLACK_TEST_IDS.botId,
  };
}

export interface BlockActionInput {
  actionId: string;
  blockId?: string;
  /** Button value. */
  value?: string;
  /** Defaults to a button. For selects use `action` to give the full element action. */
  action?: BlockElementAction;
  /** Extra actions after the first (Slack sends one, but the array is an array). */
  moreActions?: BlockElementAction[];
  user?: TestUser;
  teamId?: string;
  channelId?: string;
  channelName?: string;
  /** The message the button sits on (container.type = 'message'). */
  message?: { ts?: string; text?: string; blocks?: unknown[]; threadTs?: string };
  /** When given, the action comes from a view (modal/home) instead of a message. */
  view?: ViewInput;
  /** The message is ephemeral (a slash command's answer): Slack sends no `message`, only the container and a response_url. */
  ephemeral?: boolean;
  responseUrl?: string;
  triggerId?: string;
  /** `state.values` of the message (input blocks in messages). */
  values?: StateValues;
}

/** A realistic `block_actions` payload (button click by default). */
export function blockActionPayload(input: BlockActionInput): BlockAction {
  const blockId = input.blockId ?? `blk_${input.actionId}`;
  const first: BlockElementAction = input.action ?? {
    type: 'button',
    action_id: input.actionId,
    block_id: blockId,
    text: { type: 'plain_text', text: input.actionId, emoji: true },
    ...(input.value !== undefined ? { value: input.value } : {}),
    action_ts: actionTs(),
  };
  const base = {
    type: 'block_actions' as const,
    user: payloadUser(input.user),
    api_app_id: SLACK_TEST_IDS.appId,
    token: SLACK_TEST_IDS.verificationToken,
    trigger_id: input.triggerId ?? triggerId(),
    team: payloadTeam(input.teamId),
    is_enterprise_install: false,
    actions: [first, ...(input.moreActions ?? [])],
  };
  if (input.view) {
    const view = viewOutput(input.view);
    return {
      ...base,
      container: { type: 'view', view_id: view.id },
      view,
      response_url: input.responseUrl ?? '',
      state: { values: input.values ?? view.state.values },
    };
  }
  const channelId = input.channelId ?? SLACK_TEST_IDS.channelId;
  const ts = input.message?.ts ?? actionTs();
  if (input.ephemeral) {
    return {
      ...base,
      container: { type: 'message', message_ts: ts, channel_id: channelId, is_ephemeral: true },
      channel: { id: channelId, name: input.channelName ?? SLACK_TEST_IDS.channelName },
      state: { values: input.values ?? {} },
      response_url: input.responseUrl ?? SLACK_TEST_IDS.responseUrl,
    } as BlockAction;
  }
  return {
    ...base,
    container: { type: 'message', message_ts: ts, channel_id: channelId, is_ephemeral: false },
    channel: { id: channelId, name: input.channelName ?? SLACK_TEST_IDS.channelName },
    message: {
      type: 'message',
      user: SLACK_TEST_IDS.botUserId,
      bot_id: SLACK_TEST_IDS.botId,
      app_id: SLACK_TEST_IDS.appId,
      team: SLACK_TEST_IDS.teamId,
      ts,
      text: input.message?.text ?? '',
      blocks: input.message?.blocks ?? [],
      ...(input.message?.threadTs !== undefined ? { thread_ts: input.message.threadTs } : {}),
    },
    state: { values: input.values ?? {} },
    response_url: input.responseUrl ?? SLACK_TEST_IDS.responseUrl,
  };
}

export interface ViewSubmissionInput extends ViewInput {
  callbackId: string;
  user?: TestUser;
  teamId?: string;
  triggerId?: string;
  /** Present when the modal has `response_url_enabled` inputs; Bolt's respond() uses the first. */
  responseUrls?: { blockId: string; actionId: string; channelId: string; responseUrl: string }[];
}

/** A realistic `view_submission` payload. */
export function viewSubmissionPayload(input: ViewSubmissionInput): ViewSubmitAction {
  return {
    type: 'view_submission',
    team: payloadTeam(input.teamId),
    user: payloadUser(input.user),
    api_app_id: SLACK_TEST_IDS.appId,
    token: SLACK_TEST_IDS.verificationToken,
    trigger_id: input.triggerId ?? triggerId(),
    view: viewOutput(input),
    response_urls: (input.responseUrls ?? []).map((r) => ({
      block_id: r.blockId,
      action_id: r.actionId,
      channel_id: r.channelId,
      response_url: r.responseUrl,
    })),
    is_enterprise_install: false,
  };
}

/** A realistic `view_closed` payload (only sent for views opened with notify_on_close). */
export function viewClosedPayload(input: ViewInput & { callbackId: string; user?: TestUser; teamId?: string }): ViewClosedAction {
  return {
    type: 'view_closed',
    team: payloadTeam(input.teamId),
    user: payloadUser(input.user),
    api_app_id: SLACK_TEST_IDS.appId,
    token: SLACK_TEST_IDS.verificationToken,
    view: { ...viewOutput(input), notify_on_close: true },
    is_cleared: false,
    is_enterprise_install: false,
  };
}

/** A global shortcut (`type: 'shortcut'`). */
export function globalShortcutPayload(input: { callbackId: string; user?: TestUser; teamId?: string; triggerId?: string }): GlobalShortcut {
  return {
    type: 'shortcut',
    callback_id: input.callbackId,
    trigger_id: input.triggerId ?? triggerId(),
    user: payloadUser(input.user),
    team: payloadTeam(input.teamId),
    token: SLACK_TEST_IDS.verificationToken,
    action_ts: actionTs(),
    is_enterprise_install: false,
  };
}

/** A message shortcut (`type: 'message_action'`). */
export function messageShortcutPayload(input: {
  callbackId: string;
  message: { ts: string; text?: string; user?: string };
  user?: TestUser;
  channelId?: string;
  channelName?: string;
  responseUrl?: string;
  triggerId?: string;
}): MessageShortcut {
  return {
    type: 'message_action',
    callback_id: input.callbackId,
    trigger_id: input.triggerId ?? triggerId(),
    message_ts: input.message.ts,
    response_url: input.responseUrl ?? SLACK_TEST_IDS.responseUrl,
    message: { type: 'message', ts: input.message.ts, text: input.message.text ?? '', user: input.message.user ?? SLACK_TEST_IDS.userId },
    user: payloadUser(input.user),
    channel: { id: input.channelId ?? SLACK_TEST_IDS.channelId, name: input.channelName ?? SLACK_TEST_IDS.channelName },
    team: payloadTeam(),
    token: SLACK_TEST_IDS.verificationToken,
    action_ts: actionTs(),
    is_enterprise_install: false,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Events API
// ---------------------------------------------------------------------------------------------------------------

/** An inner event (`app_mention`, `message`, `app_home_opened`...). */
export interface SlackEventInput {
  type: string;
  [key: string]: unknown;
}

export interface EventEnvelopeInput {
  eventId?: string;
  eventTime?: number;
  teamId?: string;
  /** Default: one authorization for the bot user, as Slack sends. */
  authorizations?: EnvelopedEvent['authorizations'];
}

const ENVELOPE_TYPES = new Set(['event_callback', 'url_verification', 'app_rate_limited']);

/** Wrap an inner event in Slack's `event_callback` envelope. */
export function eventEnvelope(event: SlackEventInput, input: EventEnvelopeInput = {}): EnvelopedEvent<SlackEventInput> {
  const teamId = input.teamId ?? SLACK_TEST_IDS.teamId;
  return {
    token: SLACK_TEST_IDS.verificationToken,
    team_id: teamId,
    context_team_id: teamId,
    api_app_id: SLACK_TEST_IDS.appId,
    event: { event_ts: actionTs(), ...event },
    type: 'event_callback',
    event_id: input.eventId ?? `Ev${randomBytes(5).toString('hex').toUpperCase()}`,
    event_time: input.eventTime ?? nowSeconds(),
    authorizations: input.authorizations ?? [
      { enterprise_id: null, team_id: teamId, user_id: SLACK_TEST_IDS.botUserId, is_bot: true, is_enterprise_install: false },
    ],
    is_ext_shared_channel: false,
  };
}

/**
 * POST an Events API request as JSON. An inner event (`{ type: 'app_mention', ... }`) is wrapped in an
 * `event_callback` envelope; a body whose `type` is already an envelope type (`event_callback`,
 * `url_verification`, `app_rate_limited`) is sent as is.
 */
export function sendEvent(
  baseUrl: string,
  signingSecret: string,
  event: SlackEventInput,
  opts: SignedRequestOptions & EventEnvelopeInput = {},
): Promise<SlackHttpResponse> {
  const body = ENVELOPE_TYPES.has(event.type) ? event : eventEnvelope(event, opts);
  return sendSignedRequest(baseUrl, signingSecret, JSON.stringify(body), JSON_CONTENT_TYPE, opts);
}

/** Slack's Request URL check; Bolt answers `{ challenge }` (after verifying the signature). */
export function sendUrlVerification(
  baseUrl: string,
  signingSecret: string,
  challenge: string,
  opts?: SignedRequestOptions,
): Promise<SlackHttpResponse> {
  const body = { token: SLACK_TEST_IDS.verificationToken, challenge, type: 'url_verification' };
  return sendSignedRequest(baseUrl, signingSecret, JSON.stringify(body), JSON_CONTENT_TYPE, opts);
}
