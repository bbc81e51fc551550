import { WebClient } from '@slack/web-api';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/audit/index.js';
import type { GlImportResult } from '../../src/ledger/index.js';
import { glRejectedBlocks } from '../../src/slack/blocks/index.js';
import { downloadSlackFile, slackFileInfo } from '../../src/slack/listeners/events/slack-file.js';
import { UserError } from '../../src/util/index.js';
import { type TestApp, startTestApp } from '../support/app.js';
import { validateBlockKit } from '../support/block-kit-limits.js';
import type { RecordedCall } from '../support/fake-slack.js';
import { actionTs, sendEvent } from '../support/slack-requests.js';
import { fixtureBytes } from '../ledger/helpers.js';

const OPS = 'C0OPS0001';
const ALICE = 'U0ALICE01'; // importer
const BOB = 'U0BOB0001'; // no role
const CAROL = 'U0CAROL01'; // in the finance user group
const FINANCE_GROUP = 'S0FIN0001';

const YAML = `
slack:
  channels:
    ops: ${OPS}
roles:
  importer: [${ALICE}, ${FINANCE_GROUP}]
`;

/** The `message` event Slack sends when someone shares a file in a conversation the app is in. */
function fileShare(opts: { user: string; fileId: string; channel?: string; channelType?: string; ts?: string; threadTs?: string }) {
  return {
    type: 'message',
    subtype: 'file_share',
    text: '',
    user: opts.user,
    channel: opts.channel ?? OPS,
    channel_type: opts.channelType ?? 'channel',
    ts: opts.ts ?? actionTs(),
    ...(opts.threadTs ? { thread_ts: opts.threadTs } : {}),
    upload: true,
    display_as_bot: false,
    // What Slack puts here varies (Slack Connect sends only the id); billops asks files.info.
    files: [{ id: opts.fileId, mode: 'file_access', file_access: 'check_file_info', created: 0, timestamp: 0, user: '' }],
  };
}

function text(call: RecordedCall): string {
  const blocks = (call.args['blocks'] ?? []) as Array<{ text?: { text?: string }; fields?: Array<{ text: string }>; elements?: Array<{ text?: string }> }>;
  return blocks
    .flatMap((b) => [b.text?.text ?? '', ...(b.fields ?? []).map((f) => f.text), ...(b.elements ?? []).map((e) => e.text ?? '')])
    .join('\n');
}

describe('GL file shared in Slack', () => {
  let t: TestApp;
  let seq = 0;
  const counts = async () => {
    const r = await sql<{ entries: bigint; imports: bigint; audit: bigint }>`
      select (select count(*) from gl_entries) as entries, (select count(*) from gl_imports) as imports,
             (select count(*) from audit_log) as audit`.execute(t.db.db);
    return r.rows[0];
  };
  /** Puts a file in the fake workspace, as if `user` had uploaded it. */
  const upload = (name: string, content: Buffer | string, user = ALICE) => {
    const id = `F0GL${String(++seq).padStart(5, '0')}`;
    t.slack.files.set(id, { name, content, user });
    return id;
  };
  const replyTo = (ts: string) => t.slack.waitForCall('chat.postMessage', { match: (c) => c.args['thread_ts'] === ts, timeoutMs: 15_000 });

  beforeAll(async () => {
    t = await startTestApp({ yaml: YAML });
    t.slack.usergroups.set(FINANCE_GROUP, [CAROL, 'U0DAVE001']);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(() => {
    t.slack.reset();
  });
  afterEach(() => {
    t.slack.assertNoViolations();
  });

  it('imports a CSV shared by an importer in the ops channel and answers in its thread with rows and totals', async () => {
    const fileId = upload('qbo-transaction-detail.csv', fixtureBytes('qbo-transaction-detail.csv'));
    const ts = actionTs();
    const before = await counts();
    const res = await sendEvent(t.baseUrl, t.signingSecret, fileShare({ user: ALICE, fileId, ts }));
    expect(res.status).toBe(200);

    const reply = await replyTo(ts);
    expect(reply.args['channel']).toBe(OPS);
    const shown = text(reply);
    expect(shown).toContain('Imported *qbo-transaction-detail.csv*: 14 postings.');
    expect(shown).toContain('*Rows*\n14 postings');
    expect(shown).toContain('*New / already there*\n14 / 0');
    expect(shown).toContain('*Dates*\n2026-09-01 to 2026-09-08');
    expect(shown).toContain('USD: debits $39,600.00, credits $39,600.00 (14 postings)');
    expect(String(reply.args['text'])).toContain('Imported qbo-transaction-detail.csv: 14 postings (14 new, 0 already there)');

    // Downloaded once, with the bot token.
    expect(t.slack.downloads).toEqual([expect.objectContaining({ fileId, authorized: true })]);
    expect(t.slack.callsTo('files.info').map((c) => c.args['file'])).toEqual([fileId]);

    const after = await counts();
    expect(after?.entries).toBe((before?.entries ?? 0n) + 14n);
    const batch = await t.db.db.selectFrom('gl_imports').selectAll().where('file_name', '=', 'qbo-transaction-detail.csv').executeTakeFirstOrThrow();
    expect(batch).toMatchObject({ imported_by: ALICE, imported_via: 'slack', rows_read: 14, entries_new: 14 });
    const rows = await sql<{ source_file: string; source_line: number; amount: bigint }>`
      select source_file, source_line, amount from gl_entries where import_id = ${batch.id} order by source_line limit 2`.execute(t.db.db);
    expect(rows.rows).toEqual([
      { source_file: 'qbo-transaction-detail.csv', source_line: 7, amount: 120000n },
      { source_file: 'qbo-transaction-detail.csv', source_line: 8, amount: 1200000n },
    ]);
    const [audit] = await listAudit(t.db.db, { entity: { type: 'gl_import', id: String(batch.id) } });
    expect(audit).toMatchObject({
      actor: { kind: 'slack_user', id: ALICE },
      action: 'gl.imported',
      source: 'slack',
      after: { file_name: 'qbo-transaction-detail.csv', sha256: batch.sha256, rows: 14, entries_new: 14 },
      context: { channel: OPS, message_ts: ts, file_id: fileId },
    });
  });

  it('politely refuses someone without the importer role, and imports nothing (not even a download)', async () => {
    const fileId = upload('netsuite.csv', fixtureBytes('netsuite-gl-saved-search.csv'), BOB);
    const ts = actionTs();
    const before = await counts();
    await sendEvent(t.baseUrl, t.signingSecret, fileShare({ user: BOB, fileId, ts }));
    const reply = await replyTo(ts);
    expect(text(reply)).toBe(
      `Sorry <@${BOB}>, only people with the importer role can import GL files, so I left *netsuite.csv* alone — nothing was imported. An admin can add you under \`roles.importer\` in billops.yml.`,
    );
    expect(t.slack.downloads).toEqual([]);
    expect(await counts()).toEqual(before);
  });

  it('lets a member of an importer user group import, and says which postings were already there', async () => {
    const fileId = upload('qbo-journal.csv', fixtureBytes('qbo-journal.csv'), CAROL);
    const ts = actionTs();
    await sendEvent(t.baseUrl, t.signingSecret, fileShare({ user: CAROL, fileId, ts }));
    const reply = await replyTo(ts);
    // Two of the journal's postings came with the transaction detail report imported above.
    expect(text(reply)).toContain('Imported *qbo-journal.csv*: 6 postings, 4 new — 2 were already there from an earlier export.');
    expect(t.slack.callsTo('usergroups.users.list').map((c) => c.args['usergroup'])).toEqual([FINANCE_GROUP]);
  });

  it('says what is wrong with a file it cannot read, in the thread', async () => {
    const fileId = upload('jpy.csv', 'Date,Voucher,Account,Description,Debit,Credit\n2026/09/05,V9,Stripe fees,fee,"4,752",\n');
    const ts = actionTs();
    await sendEvent(t.baseUrl, t.signingSecret, fileShare({ user: ALICE, fileId, ts }));
    const reply = await replyTo(ts);
    // No generic mapping for this layout in billops.yml: a whole-file problem.
    expect(text(reply)).toContain('*jpy.csv* was not imported. Cannot tell which export this is');
  });

  it('lists the problems of a bad file in the thread and imports nothing', async () => {
    const fileId = upload('qbo-with-errors.csv', fixtureBytes('qbo-with-errors.csv'));
    const ts = actionTs();
    const before = await counts();
    await sendEvent(t.baseUrl, t.signingSecret, fileShare({ user: ALICE, fileId, ts }));
    const reply = await replyTo(ts);
    const shown = text(reply);
    expect(shown).toContain('*qbo-with-errors.csv* was not imported: 3 problems (QuickBooks Online, header on line 5). Nothing was changed');
    expect(shown).toContain('• line 14, column "Date": "31/02/2026" is not a date (expected MM/DD/YYYY)');
    expect(shown).toContain('• line 15, column "Amount": "12O.00" is not an amount');
    expect(await counts()).toEqual(before);
  });

  it('says so when the same file comes again, in a DM as well', async () => {
    const fileId = upload('again.csv', fixtureBytes('qbo-transaction-detail.csv'));
    const ts = actionTs();
    const before = await counts();
    await sendEvent(t.baseUrl, t.signingSecret, fileShare({ user: ALICE, fileId, ts, channel: 'D0ALICEDM', channelType: 'im' }));
    const reply = await replyTo(ts);
    expect(reply.args['channel']).toBe('D0ALICEDM');
    expect(text(reply)).toMatch(/\*again\.csv\* was already imported on \d{4}-\d\d-\d\d by <@U0ALICE01> \(import #\d+\): nothing new\./);
    expect(await counts()).toEqual(before);
  });

  it('replies in the existing thread when the file is shared inside one', async () => {
    const fileId = upload('thread.csv', fixtureBytes('generic-jpy-ledger.csv'));
    const ts = actionTs();
    await sendEvent(t.baseUrl, t.signingSecret, fileShare({ user: ALICE, fileId, ts, threadTs: '1790000000.000100' }));
    const reply = await replyTo('1790000000.000100');
    expect(reply.args['channel']).toBe(OPS);
  });

  it('ignores files in other channels, and non-CSV files in the ops channel', async () => {
    const csv = upload('elsewhere.csv', fixtureBytes('qbo-journal.csv'));
    const png = upload('screenshot.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    await sendEvent(t.baseUrl, t.signingSecret, fileShare({ user: ALICE, fileId: csv, channel: 'C0RANDOM1' }));
    await sendEvent(t.baseUrl, t.signingSecret, fileShare({ user: ALICE, fileId: png }));
    // A DM is addressed to billops: a non-CSV there gets an answer, which also marks that the others are done.
    const ts = actionTs();
    await sendEvent(t.baseUrl, t.signingSecret, fileShare({ user: ALICE, fileId: png, ts, channel: 'D0ALICEDM', channelType: 'im' }));
    const reply = await replyTo(ts);
    expect(text(reply)).toContain('*screenshot.png* is not a CSV file');
    expect(t.slack.callsTo('chat.postMessage')).toHaveLength(1);
    expect(t.slack.callsTo('files.info').map((c) => c.args['file'])).toEqual([png, png]);
    expect(t.slack.downloads).toEqual([]);
  });

  it('recognises Slack’s sign-in page (a 200 with HTML) instead of parsing it as a CSV', async () => {
    const fileId = upload('signin.csv', fixtureBytes('qbo-journal.csv'));
    const client = new WebClient(t.slack.token, { slackApiUrl: t.slack.apiUrl });
    const info = await slackFileInfo(client, fileId);
    const err = await downloadSlackFile(info, 'xoxb-revoked', t.slack.apiUrl).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^Slack sent its sign-in page instead of signin\.csv/);
    await expect(downloadSlackFile({ ...info, url_private: 'https://evil.example/f.csv', url_private_download: undefined }, t.slack.token, t.slack.apiUrl)).rejects.toThrow(
      /refusing to send the bot token to evil\.example/,
    );
  });

  // Last: it replaces files.info for the rest of the file.
  it('acknowledges the event at once and imports after', async () => {
    const fileId = upload('xero.csv', fixtureBytes('xero-account-transactions.csv'));
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    // files.info answers only once the test has seen the event acknowledged.
    t.slack.handle('files.info', async (args) => {
      await held;
      const id = String(args['file']);
      return { file: { id, name: 'xero.csv', filetype: 'csv', url_private: `${t.slack.baseUrl}/files-pri/${t.slack.teamId}-${id}/xero.csv` } };
    });
    const ts = actionTs();
    try {
      const res = await sendEvent(t.baseUrl, t.signingSecret, fileShare({ user: ALICE, fileId, ts }));
      expect(res.status).toBe(200);
      expect(t.slack.callsTo('chat.postMessage')).toEqual([]);
    } finally {
      release();
    }
    const reply = await replyTo(ts);
    expect(text(reply)).toContain('Imported *xero.csv*: 6 postings.');
  });
});

describe('GL import replies stay within Block Kit limits', () => {
  it('lists what fits of 5,000 long problems and counts the rest', () => {
    const problems = Array.from({ length: 50 }, (_, i) => ({
      kind: 'error' as const,
      line: i + 2,
      column: 'Memo',
      message: `line ${i + 2}, column "Memo": "${'x'.repeat(2000)}" is not what was expected`,
    }));
    const r: Extract<GlImportResult, { status: 'rejected' }> = {
      status: 'rejected',
      fileName: 'huge.csv',
      detected: { format: 'quickbooks', mapping: null, headerLine: 1, columns: [], delimiter: ',' },
      problems,
      problemCount: 5000,
      rowsRead: 10,
    };
    const m = glRejectedBlocks(r);
    expect(validateBlockKit('message', m)).toEqual([]);
    expect(m.blocks.length).toBeLessThanOrEqual(50);
    const listed = JSON.stringify(m.blocks).match(/• line/g)?.length ?? 0;
    expect(listed).toBeGreaterThan(10);
    const last = m.blocks.at(-1) as { type: string; elements: Array<{ text: string }> };
    expect(last.type).toBe('context');
    expect(last.elements[0]?.text).toBe(`… and ${(5000 - listed).toLocaleString('en-US')} more problems not listed here.`);
  });
});
