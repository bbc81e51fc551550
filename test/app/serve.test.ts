import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SIGNING_SECRET } from '../support/config.js';
import { type TestDb, createTestDb, testDatabaseUrl } from '../support/db.js';
import { type FakeSlack, startFakeSlack } from '../support/fake-slack.js';
import { sendSlashCommand } from '../support/slack-requests.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitFor(url: string, timeoutMs: number): Promise<Response> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fetch(url);
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe('billops serve (the real process)', () => {
  let slack: FakeSlack;
  let dataDir: string;
  // On PostgreSQL, a fresh unmigrated database of its own (never the shared one): serve migrates it.
  let pg: TestDb | null = null;
  beforeAll(async () => {
    slack = await startFakeSlack();
    dataDir = mkdtempSync(path.join(tmpdir(), 'billops-serve-'));
    if (testDatabaseUrl()) pg = await createTestDb({ migrate: false });
  });
  afterAll(async () => {
    await pg?.cleanup();
    await slack.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('migrates, serves Slack and health, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['bin/billops.mjs', 'serve'], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        BILLOPS_DATA_DIR: dataDir,
        ...(pg?.url ? { DATABASE_URL: pg.url } : {}),
        SLACK_BOT_TOKEN: slack.token,
        SLACK_SIGNING_SECRET: TEST_SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const ready = await waitFor(`http://127.0.0.1:${port}/readyz`, 30_000);
      expect(ready.status, stderr).toBe(200);
      const help = await sendSlashCommand(`http://127.0.0.1:${port}`, TEST_SIGNING_SECRET, { command: '/billing', text: 'help' });
      expect((help.json() as { response_type: string }).response_type).toBe('ephemeral');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  }, 60_000);
});
