import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/db/index.js';
import { type TestApp, startTestApp } from '../support/app.js';
import { sendSlashCommand } from '../support/slack-requests.js';

describe('billops over HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers a correctly signed /billing help ephemerally with the command list', async () => {
    const res = await sendSlashCommand(t.baseUrl, t.signingSecret, { command: '/billing', text: 'help' });
    expect(res.status).toBe(200);
    const body = res.json() as { response_type: string; text: string; blocks: Array<{ type: string }> };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('/billing help');
    expect(body.blocks[0]?.type).toBe('header');
  });

  it('treats a bare /billing as help', async () => {
    const res = await sendSlashCommand(t.baseUrl, t.signingSecret, { command: '/billing', text: '' });
    expect((res.json() as { text: string }).text).toContain('/billing help');
  });

  it('tells the person when a subcommand does not exist, ephemerally, with what does', async () => {
    const res = await sendSlashCommand(t.baseUrl, t.signingSecret, { command: '/billing', text: 'refund everything' });
    const body = res.json() as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toMatch(/`\/billing refund` is not a billops command/);
    expect(body.text).toContain('`help`');
  });

  it('refuses a request signed with the wrong secret: 401, and no handler runs', async () => {
    const res = await sendSlashCommand(t.baseUrl, t.signingSecret, { command: '/billing', text: 'help' }, { secretOverride: 'not-the-secret' });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain('billops commands');
  });

  it('refuses a correctly signed request whose timestamp is older than 5 minutes', async () => {
    const sixMinutesAgo = Math.floor(Date.now() / 1000) - 6 * 60;
    const res = await sendSlashCommand(t.baseUrl, t.signingSecret, { command: '/billing', text: 'help' }, { timestamp: sixMinutesAgo });
    expect(res.status).toBe(401);
    expect(res.text).not.toContain('billops commands');
  });

  it('refuses a body changed after signing, and a request with no signature', async () => {
    const tampered = await sendSlashCommand(t.baseUrl, t.signingSecret, { command: '/billing', text: 'help' }, { tamperBody: true });
    expect(tampered.status).toBe(401);
    const unsigned = await sendSlashCommand(t.baseUrl, t.signingSecret, { command: '/billing', text: 'help' }, { omitSignature: true });
    expect(unsigned.status).toBe(401);
  });

  it('/healthz answers while the process is up', async () => {
    const res = await fetch(`${t.baseUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers 200 when the database answers and migrations are current', async () => {
    const res = await fetch(`${t.baseUrl}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', database: 'ok' });
  });

  it('/metrics serves Prometheus text', async () => {
    await fetch(`${t.baseUrl}/healthz`);
    const res = await fetch(`${t.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/billops_http_requests_total\{route="\/healthz",status="200"\} \d+/);
  });
});

describe('/readyz when the database is not there', () => {
  it('answers 503 with the reason', async () => {
    // Nothing listens on port 1: the pool's connection is refused.
    const dead = await connect({ url: 'postgres://postgres@127.0.0.1:1/none' });
    const t = await startTestApp({ appDb: dead });
    try {
      const res = await fetch(`${t.baseUrl}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'unavailable', database: 'unreachable' });
      const health = await fetch(`${t.baseUrl}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      await t.close();
      await dead.close();
    }
  });

  it('answers 503 when migrations are pending', async () => {
    const { createTestDb } = await import('../support/db.js');
    const fresh = await createTestDb({ migrate: false });
    const t = await startTestApp({ db: fresh });
    try {
      const res = await fetch(`${t.baseUrl}/readyz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'unavailable', database: 'ok', pendingMigrations: expect.arrayContaining(['0001_audit_log']) });
    } finally {
      await t.close();
      await fresh.cleanup();
    }
  });
});
