import { type BillopsApp, type HttpRoute, createBillopsApp } from '../../src/app/index.js';
import type { Config } from '../../src/config/index.js';
import type { Db } from '../../src/db/index.js';
import type { JobBodies } from '../../src/jobs/index.js';
import { type Clock, silentLogger, systemClock } from '../../src/util/index.js';
import { TEST_SIGNING_SECRET, testConfig } from './config.js';
import { type TestDb, createTestDb } from './db.js';
import { type FakeSlack, fakeSlackClientOptions, startFakeSlack } from './fake-slack.js';

export interface TestApp {
  app: BillopsApp;
  baseUrl: string;
  db: TestDb;
  slack: FakeSlack;
  config: Config;
  signingSecret: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  yaml?: string;
  env?: Record<string, string | undefined>;
  clock?: Clock;
  db?: TestDb;
  /** Use this Db for the app instead of the test database (e.g. an unreachable one). */
  appDb?: Db;
  routes?: HttpRoute[];
  /** Job bodies instead of the real ones (e.g. a reconcile the test holds at a gate). */
  jobBodies?: JobBodies;
}

/**
 * billops as it runs in production — Bolt over HTTP on a real port — wired to a fake Slack Web API
 * and its own test database. Requests reach it signed, exactly as Slack sends them.
 */
export async function startTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const slack = await startFakeSlack();
  const db = opts.db ?? (await createTestDb());
  const config = testConfig({ ...(opts.yaml === undefined ? {} : { yaml: opts.yaml }), env: { SLACK_BOT_TOKEN: slack.token, ...opts.env } });
  const app = createBillopsApp({
    config,
    db: opts.appDb ?? db,
    logger: silentLogger,
    clock: opts.clock ?? systemClock,
    slackClientOptions: fakeSlackClientOptions(slack),
    ...(opts.routes ? { routes: opts.routes } : {}),
    ...(opts.jobBodies ? { jobBodies: opts.jobBodies } : {}),
  });
  const { port } = await app.start(0);
  return {
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    db,
    slack,
    config,
    signingSecret: TEST_SIGNING_SECRET,
    async close() {
      await app.stop();
      await slack.close();
      if (!opts.db) await db.cleanup();
    },
  };
}
