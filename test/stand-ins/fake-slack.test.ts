import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver } from '@slack/bolt';
import { ErrorCode, WebClient, type WebClientOptions } from '@slack/web-api';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeSlack, silentSlackLogger, startFakeSlack } from '../support/fake-slack.js';
import {
  blockActionPayload,
  sendEvent,
  sendInteraction,
  sendSignedRequest,
  sendSlashCommand,
  sendUrlVerification,
  SLACK_TEST_IDS,
  stateValue,
  viewSubmissionPayload,
} from '../support/slack-requests.js';

/** Narrow a thrown value to the shape of @slack/web-api's coded errors. */
function slackError(err: unknown): { code: string; data?: Record<string, unknown>; retryAfter?: number } {
  if (!(err instanceof Error) || !('code' in err) || typeof err.code !== 'string') throw err;
  return err as Error & { code: string; data?: Record<string, unknown>; retryAfter?: number };
}

async function rejection(p: Promise<unknown>): Promise<ReturnType<typeof slackError>> {
  try {
    await p;
  } catch (err) {
    return slackError(err);
  }
  throw new Error('expected the call to be rejected');
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
const blocks = (n: number) => Array.from({ length: n }, (_, i) => section(`line ${i}`));
const modalView = (title: string) => ({
  type: 'modal' as const,
  callback_id: 'refund_modal',
  title: { type: 'plain_text' as const, text: title },
  blocks: [section('Refund INV-1?')],
});

describe('fake Slack Web API driven by the real WebClient', () => {
  let fake: FakeSlack;
  const client = (opts: WebClientOptions = {}, token = 'xoxb-test') =>
    new WebClient(token, { slackApiUrl: fake.apiUrl, logger: silentSlackLogger(), retryConfig: { retries: 0 }, ...opts });

  beforeAll(async () => {
    fake = await startFakeSlack();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
  });

  it('answers auth.test with the bot identity and records the bearer token', async () => {
    const res = await client().auth.test();
    expect(res).toMatchObject({ ok: true, user_id: fake.botUserId, bot_id: fake.botId, team_id: fake.teamId, team: 'Billops Test' });
    expect(fake.lastCall('auth.test')?.token).toBe('xoxb-test');
  });

  it('records chat.postMessage with blocks decoded from the form body', async () => {
    const sent = [section('*INV-1* overdue'), { type: 'actions', elements: [{ type: 'button', action_id: 'remind', text: { type: 'plain_text', text: 'Remind' } }] }];
    const res = await client().chat.postMessage({ channel: 'C0BILLING', text: 'INV-1 overdue', blocks: sent });
    expect(res.ok).toBe(true);
    expect(res.channel).toBe('C0BILLING');
    expect(res.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(res.message?.blocks).toEqual(sent);

    const call = fake.lastCall('chat.postMessage');
    expect(call?.encoding).toBe('form');
    expect(call?.args['blocks']).toEqual(sent);
    expect(call?.args['text']).toBe('INV-1 overdue');
    expect(call?.args).not.toHaveProperty('token');
    expect(fake.message('C0BILLING', res.ts ?? '')?.text).toBe('INV-1 overdue');
  });

  it('parses application/json bodies too', async () => {
    const res = await fetch(`${fake.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', authorization: 'Bearer xoxb-test' },
      body: JSON.stringify({ channel: 'C1', text: 'hi', blocks: [section('hi')] }),
    });
    expect(await res.json()).toMatchObject({ ok: true, channel: 'C1' });
    expect(fake.lastCall('chat.postMessage')).toMatchObject({ encoding: 'json', args: { blocks: [section('hi')] } });
  });

  it('rejects a 51-block message with invalid_blocks and accepts 50', async () => {
    const err = await rejection(client().chat.postMessage({ channel: 'C1', text: 'big', blocks: blocks(51) }));
    expect(err.code).toBe(ErrorCode.PlatformError);
    expect(err.data?.['error']).toBe('invalid_blocks');
    expect(err.data?.['errors']).toEqual(['blocks: 51 blocks > 50']);
    expect(fake.violations).toHaveLength(1);
    expect(fake.lastCall('chat.postMessage')?.violations).toEqual(['blocks: 51 blocks > 50']);
    expect(() => fake.assertNoViolations()).toThrow(/51 blocks > 50/);

    fake.reset();
    await expect(client().chat.postMessage({ channel: 'C1', text: 'ok', blocks: blocks(50) })).resolves.toMatchObject({ ok: true });
    expect(fake.violations).toHaveLength(0);
  });

  it('rejects duplicate action_ids in one message', async () => {
    const btn = { type: 'button' as const, action_id: 'approve', text: { type: 'plain_text' as const, text: 'Approve' } };
    const err = await rejection(
      client().chat.postMessage({
        channel: 'C1',
        text: 'dup',
        blocks: [
          { type: 'actions', elements: [btn] },
          { type: 'actions', elements: [btn] },
        ],
      }),
    );
    expect(err.data?.['error']).toBe('invalid_blocks');
    expect(err.data?.['errors']).toEqual(['blocks[1].elements[0].action_id: duplicate action_id "approve" (first at blocks[0].elements[0].action_id)']);
  });

  it('rejects a 25-char modal title in views.open and accepts 24', async () => {
    const err = await rejection(client().views.open({ trigger_id: 't.1', view: modalView('x'.repeat(25)) }));
    expect(err.data?.['error']).toBe('invalid_arguments');
    expect(err.data?.['errors']).toEqual(['view.title.text: 25 chars > 24']);
    expect(err.data?.['response_metadata']).toMatchObject({ messages: ['[ERROR] view.title.text: 25 chars > 24'] });

    const ok = await client().views.open({ trigger_id: 't.2', view: modalView('x'.repeat(24)) });
    expect(ok.view?.id).toMatch(/^V/);
    expect(ok.view?.hash).toMatch(/^\d+\.[0-9a-f]{8}$/);
    expect(ok.view?.callback_id).toBe('refund_modal');
  });

  it('checks hashes on views.update and publishes home tabs', async () => {
    const opened = await client().views.open({ trigger_id: 't', view: modalView('Refund') });
    const viewId = opened.view?.id ?? '';
    const updated = await client().views.update({ view_id: viewId, hash: opened.view?.hash ?? '', view: modalView('Refund (2)') });
    expect(updated.view?.id).toBe(viewId);
    const stale = await rejection(client().views.update({ view_id: viewId, hash: opened.view?.hash ?? '', view: modalView('Refund (3)') }));
    expect(stale.data?.['error']).toBe('hash_conflict');

    const home = await client().views.publish({ user_id: 'U1', view: { type: 'home', blocks: [section('Your queue')] } });
    expect(home.view?.type).toBe('home');
  });

  it('surfaces failNext as a WebClient platform error, once per injected fault, in order', async () => {
    fake.failNext('chat.postMessage', { error: 'channel_not_found' });
    fake.failNext('chat.postMessage', { error: 'not_in_channel', times: 1 });
    const first = await rejection(client().chat.postMessage({ channel: 'C1', text: 'a' }));
    expect(first.code).toBe(ErrorCode.PlatformError);
    expect(first.data?.['error']).toBe('channel_not_found');
    const second = await rejection(client().chat.postMessage({ channel: 'C1', text: 'b' }));
    expect(second.data?.['error']).toBe('not_in_channel');
    await expect(client().chat.postMessage({ channel: 'C1', text: 'c' })).resolves.toMatchObject({ ok: true });
  });

  it('answers 429 with Retry-After and WebClient retries it', async () => {
    fake.rateLimitNext('chat.postMessage', { retryAfterSeconds: 1 });
    const started = Date.now();
    const res = await client({ retryConfig: { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 20 } }).chat.postMessage({ channel: 'C1', text: 'retry me' });
    expect(res.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.callsTo('chat.postMessage').map((c) => c.status)).toEqual([429, 200]);
  });

  it('makes WebClient throw a rate-limited error when rejectRateLimitedCalls is set', async () => {
    fake.rateLimitNext('chat.postMessage', { retryAfterSeconds: 7 });
    const err = await rejection(client({ rejectRateLimitedCalls: true }).chat.postMessage({ channel: 'C1', text: 'x' }));
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBe(7);
  });

  it('paces chat.postMessage per channel when enforceChannelRate is on', async () => {
    fake.enforceChannelRate(1);
    try {
      const c = client({ rejectRateLimitedCalls: true });
      await c.chat.postMessage({ channel: 'C1', text: '1' });
      await c.chat.postMessage({ channel: 'C2', text: 'other channel' });
      const err = await rejection(c.chat.postMessage({ channel: 'C1', text: '2' }));
      expect(err.code).toBe(ErrorCode.RateLimitedError);
      expect(err.retryAfter).toBe(1);
    } finally {
      fake.enforceChannelRate(null);
    }
  });

  it('uploads with filesUploadV2 end to end and records the bytes', async () => {
    const csv = 'invoice,amount\nINV-1,1200.00\n';
    const res = await client().filesUploadV2({ channel_id: 'C1', filename: 'aging.csv', title: 'AR aging', content: csv, initial_comment: 'Weekly aging' });
    expect(res.ok).toBe(true);

    expect(fake.uploads).toHaveLength(1);
    const upload = fake.uploads[0];
    expect(upload?.bytes?.toString('utf8')).toBe(csv);
    expect(upload).toMatchObject({ filename: 'aging.csv', declaredLength: Buffer.byteLength(csv), completed: true, channelId: 'C1', initialComment: 'Weekly aging' });
    expect(fake.lastCall('files.completeUploadExternal')?.args['files']).toEqual([{ id: upload?.fileId, title: 'AR aging' }]);

    const info = await client().files.info({ file: upload?.fileId ?? '' });
    expect(info.file?.name).toBe('aging.csv');
    expect(info.file?.mimetype).toBe('text/csv');
  });

  it('serves url_private only with the bot token (Slack answers a sign-in page otherwise)', async () => {
    fake.files.set('F0STATEMENT', { name: 'statement.csv', content: 'date,amount\n2024-01-02,10.00\n' });
    const info = await client().files.info({ file: 'F0STATEMENT' });
    const url = info.file?.url_private ?? '';
    expect(url.startsWith(fake.baseUrl)).toBe(true);

    const withToken = await fetch(url, { headers: { authorization: 'Bearer xoxb-test' } });
    expect(withToken.status).toBe(200);
    expect(await withToken.text()).toBe('date,amount\n2024-01-02,10.00\n');

    const anonymous = await fetch(url);
    expect(anonymous.headers.get('content-type')).toMatch(/text\/html/);
    expect(await anonymous.text()).not.toContain('2024-01-02');
    const wrongToken = await fetch(url, { headers: { authorization: 'Bearer xoxb-other' } });
    expect(await wrongToken.text()).not.toContain('2024-01-02');
    expect(fake.downloads.map((d) => d.authorized)).toEqual([true, false, false]);
  });

  it('answers users.info from the configurable directory', async () => {
    fake.users.set('U0ALICE01', { name: 'alice', real_name: 'Alice Ng', email: 'alice@example.test', tz: 'Europe/Paris' });
    const res = await client().users.info({ user: 'U0ALICE01' });
    expect(res.user).toMatchObject({ id: 'U0ALICE01', real_name: 'Alice Ng', tz: 'Europe/Paris', profile: { email: 'alice@example.test' } });
    const missing = await rejection(client().users.info({ user: 'U0NOBODY' }));
    expect(missing.data?.['error']).toBe('user_not_found');
  });

  it('opens DMs with a stable D… id, used when posting to a user id', async () => {
    const opened = await client().conversations.open({ users: 'U0ALICE01' });
    const dm = opened.channel?.id ?? '';
    expect(dm).toMatch(/^D/);
    expect(dm).toBe(fake.dmChannelFor('U0ALICE01'));
    const posted = await client().chat.postMessage({ channel: 'U0ALICE01', text: 'your approval is needed' });
    expect(posted.channel).toBe(dm);
  });

  it('supports postEphemeral, update, delete, reactions.add and usergroups.users.list', async () => {
    const c = client();
    expect((await c.chat.postEphemeral({ channel: 'C1', user: 'U1', text: 'only you' })).message_ts).toMatch(/^\d+\.\d+$/);
    const posted = await c.chat.postMessage({ channel: 'C1', text: 'v1' });
    const ts = posted.ts ?? '';
    const updated = await c.chat.update({ channel: 'C1', ts, text: 'v2' });
    expect(updated).toMatchObject({ ok: true, channel: 'C1', ts, text: 'v2' });
    expect(fake.message('C1', ts)?.text).toBe('v2');
    await c.reactions.add({ channel: 'C1', timestamp: ts, name: 'white_check_mark' });
    expect((await rejection(c.reactions.add({ channel: 'C1', timestamp: ts, name: 'white_check_mark' }))).data?.['error']).toBe('already_reacted');
    await expect(c.chat.delete({ channel: 'C1', ts })).resolves.toMatchObject({ ok: true, ts });

    fake.usergroups.set('S0FINANCE', ['U1', 'U2']);
    expect((await c.usergroups.users.list({ usergroup: 'S0FINANCE' })).users).toEqual(['U1', 'U2']);
  });

  it('rejects unknown methods and bad or missing tokens', async () => {
    expect((await rejection(client().apiCall('billing.frobnicate'))).data?.['error']).toBe('unknown_method');
    expect((await rejection(client({}, 'xoxb-wrong').auth.test())).data?.['error']).toBe('invalid_auth');
    const anonymous = await fetch(`${fake.apiUrl}auth.test`, { method: 'POST' });
    expect(await anonymous.json()).toEqual({ ok: false, error: 'not_authed' });
  });

  it('supports custom handlers, token revocation and strict message lookups', async () => {
    fake.handle('conversations.members', (args) => ({ members: ['U1', 'U2'], echo: args['channel'] }));
    await expect(client().conversations.members({ channel: 'C1' })).resolves.toMatchObject({ ok: true, members: ['U1', 'U2'], echo: 'C1' });

    const strict = await startFakeSlack({ strict: true, extraTokens: ['xoxb-second'] });
    try {
      const c = new WebClient('xoxb-second', { slackApiUrl: strict.apiUrl, logger: silentSlackLogger(), retryConfig: { retries: 0 } });
      expect((await rejection(c.chat.update({ channel: 'C1', ts: '1.000001', text: 'x' }))).data?.['error']).toBe('message_not_found');
      strict.validTokens.delete('xoxb-second');
      expect((await rejection(c.auth.test())).data?.['error']).toBe('invalid_auth');
    } finally {
      await strict.close();
    }
  });

  it('lets a test wait for a call made by asynchronous work', async () => {
    const waiting = fake.waitForCall('chat.postMessage', { timeoutMs: 2000 });
    setTimeout(() => void client().chat.postMessage({ channel: 'C9', text: 'later' }), 50);
    const call = await waiting;
    expect(call.args['channel']).toBe('C9');

    await expect(fake.waitForCall('chat.postMessage', { count: 2, timeoutMs: 100 })).rejects.toThrow(/timed out after 100 ms waiting for 2 call\(s\) to chat.postMessage; saw 1/);
  });

  it('records response_url posts (and validates their blocks)', async () => {
    const url = fake.responseUrl('cmd-1');
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'done', response_type: 'ephemeral' }) });
    expect(res.status).toBe(200);
    expect((await fake.waitForResponse({ id: 'cmd-1' })).body).toEqual({ text: 'done', response_type: 'ephemeral' });

    const bad = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ blocks: blocks(51) }) });
    expect(bad.status).toBe(400);
    expect(fake.violations.map((v) => v.method)).toEqual(['response_url']);
  });
});

describe('signed requests to a real Bolt app', () => {
  const secret = 'test-secret';
  let fake: FakeSlack;
  let app: App;
  let base: string;
  let commandsHandled: string[];
  let mentions: string[];

  beforeAll(async () => {
    fake = await startFakeSlack();
    const logger = silentSlackLogger();
    const receiver = new HTTPReceiver({ signingSecret: secret, logger });
    // The token is verified with auth.test at construction time: point the App's WebClient at the fake first.
    app = new App({ token: fake.token, receiver, logger, clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } } });

    app.command('/billing', async ({ command, ack, respond }) => {
      commandsHandled.push(command.text);
      await ack({ response_type: 'ephemeral', text: `Billing: ${command.text}` });
      if (command.text === 'later') await respond({ response_type: 'ephemeral', text: 'Report is ready' });
    });
    app.action('approve_invoice', async ({ ack, body, respond }) => {
      await ack();
      const value = body.type === 'block_actions' && body.actions[0]?.type === 'button' ? body.actions[0].value : undefined;
      await respond({ replace_original: true, text: `Approved ${value ?? '?'}` });
    });
    app.view('refund_modal', async ({ ack, view }) => {
      const amount = view.state.values['amount']?.['value']?.value ?? '';
      if (!/^\d+(\.\d{2})?$/.test(amount)) await ack({ response_action: 'errors', errors: { amount: 'Enter an amount like 12.50' } });
      else await ack();
    });
    app.event('app_mention', async ({ event }) => {
      mentions.push(event.text);
    });

    const server = await app.start(0);
    const address = server.address() as AddressInfo;
    base = `http://127.0.0.1:${address.port}`;
  });
  afterAll(async () => {
    await app.stop();
    await fake.close();
  });
  beforeEach(() => {
    commandsHandled = [];
    mentions = [];
  });
  afterEach(() => {
    fake.assertNoViolations();
  });

  it('acks a correctly signed slash command with the ephemeral body', async () => {
    const res = await sendSlashCommand(base, secret, { command: '/billing', text: 'status INV-1' });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ response_type: 'ephemeral', text: 'Billing: status INV-1' });
    expect(commandsHandled).toEqual(['status INV-1']);
    expect(fake.callsTo('auth.test').length).toBeGreaterThanOrEqual(1);
  });

  it('records what respond() posts after the ack', async () => {
    const res = await sendSlashCommand(base, secret, { command: '/billing', text: 'later', response_url: fake.responseUrl('cmd-later') });
    expect(res.status).toBe(200);
    expect((await fake.waitForResponse({ id: 'cmd-later' })).body).toEqual({ response_type: 'ephemeral', text: 'Report is ready' });
  });

  it('rejects a command signed with the wrong secret (401, handler not reached)', async () => {
    const res = await sendSlashCommand(base, secret, { command: '/billing', text: 'x' }, { secretOverride: 'not-the-secret' });
    expect(res.status).toBe(401);
    expect(commandsHandled).toEqual([]);
  });

  it('rejects a 6-minute-old timestamp, a tampered body and a missing signature', async () => {
    const stale = await sendSlashCommand(base, secret, { command: '/billing' }, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    const tampered = await sendSlashCommand(base, secret, { command: '/billing' }, { tamperBody: true });
    const unsigned = await sendSlashCommand(base, secret, { command: '/billing' }, { omitSignature: true });
    expect([stale.status, tampered.status, unsigned.status]).toEqual([401, 401, 401]);
    expect(commandsHandled).toEqual([]);
  });

  it('returns the challenge for url_verification', async () => {
    const res = await sendUrlVerification(base, secret, 'challenge-abc');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ challenge: 'challenge-abc' });
    const viaSendEvent = await sendEvent(base, secret, { type: 'url_verification', token: 'x', challenge: 'c2' });
    expect(viaSendEvent.json()).toEqual({ challenge: 'c2' });
  });

  it('delivers event_callback envelopes to event listeners', async () => {
    const res = await sendEvent(base, secret, { type: 'app_mention', user: SLACK_TEST_IDS.userId, text: '<@U0BILLBOT> aging', channel: 'C1', ts: '1700000000.000100' });
    expect(res.status).toBe(200);
    await expect.poll(() => mentions).toEqual(['<@U0BILLBOT> aging']);
  });

  it("routes block_actions built by blockActionPayload and records respond() on the fake's response_url", async () => {
    const payload = blockActionPayload({ actionId: 'approve_invoice', value: 'INV-7', responseUrl: fake.responseUrl('approve-1') });
    const res = await sendInteraction(base, secret, payload);
    expect(res.status).toBe(200);
    const posted = await fake.waitForResponse({ id: 'approve-1' });
    expect(posted.body).toEqual({ replace_original: true, text: 'Approved INV-7' });
  });

  it('routes view_submission built by viewSubmissionPayload and returns response_action errors', async () => {
    const bad = await sendInteraction(base, secret, viewSubmissionPayload({ callbackId: 'refund_modal', values: { amount: { value: stateValue.plainText('twelve') } } }));
    expect(bad.status).toBe(200);
    expect(bad.json()).toEqual({ response_action: 'errors', errors: { amount: 'Enter an amount like 12.50' } });

    const good = await sendInteraction(base, secret, viewSubmissionPayload({ callbackId: 'refund_modal', values: { amount: { value: stateValue.plainText('12.50') } } }));
    expect(good.status).toBe(200);
    expect(good.text).toBe('');
  });

  it('needs the exact form content type: Bolt mis-parses a charset-suffixed one', async () => {
    const body = 'command=%2Fbilling&text=x&user_id=U1&team_id=T1&channel_id=C1&api_app_id=A1&response_url=http%3A%2F%2F127.0.0.1%3A9%2F&trigger_id=t';
    const res = await sendSignedRequest(base, secret, body, 'application/x-www-form-urlencoded; charset=utf-8');
    expect(res.status).toBe(400); // signature is fine; the body is then JSON.parse'd ("Malformed request body")
    expect(commandsHandled).toEqual([]);
  });
});
