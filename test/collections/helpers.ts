import { WebClient } from '@slack/web-api';
import type Stripe from 'stripe';
import { dayIn, startOfDayIn } from '../../src/exceptions/index.js';
import {
  type CollectionsDeps,
  type CollectionsRunDeps,
  type CollectionsRunSummary,
  type StepOutcome,
  plainTextNotifier,
  runCollections,
  stripeCollectionsClient,
} from '../../src/collections/index.js';
import type { Config } from '../../src/config/index.js';
import type { Db } from '../../src/db/index.js';
import { normalizeObjects, processStripeEvent } from '../../src/stripe/index.js';
import { ManualClock, silentLogger } from '../../src/util/index.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { type FakeSlack, fakeSlackClientOptions, silentSlackLogger, startFakeSlack } from '../support/fake-slack.js';
import { FakeStripe } from '../support/fake-stripe.js';
import * as fx from '../support/stripe-fixtures.js';

export const TZ = 'America/New_York';
export const COLLECTIONS_CHANNEL = 'C0COLLECT1';
export const FINANCE_CHANNEL = 'C0FINANCE1';
export const LEAD = 'U0LEAD0001';
export const OWNER_A = 'U0OWNERA01';
export const OWNER_B = 'U0OWNERB01';

export const BASE_YAML = `
org:
  timezone: ${TZ}
slack:
  channels:
    collections: ${COLLECTIONS_CHANNEL}
    finance: ${FINANCE_CHANNEL}
collections:
  lead: ${LEAD}
`;

/** 09:00 on a calendar day in `tz` (whatever the UTC offset that day). */
export function nineAm(day: string, tz = TZ): Date {
  const midnight = startOfDayIn(tz, day);
  let at = new Date(midnight.getTime() + 9 * 3_600_000);
  const hour = Number(new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', hour: '2-digit' }).format(at));
  at = new Date(at.getTime() - (hour - 9) * 3_600_000);
  return at;
}

export function addDay(day: string, n: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}

export interface Harness {
  db: TestDb;
  clock: ManualClock;
  stripe: FakeStripe;
  slack: FakeSlack;
  config: Config;
  deps: CollectionsDeps;
  /** Outcomes seen by every run, with the day (org tz) of the run. */
  seen: Array<StepOutcome & { runDay: string }>;
  runDeps(overrides?: Partial<CollectionsRunDeps>, db?: Db): CollectionsRunDeps;
  run(overrides?: Partial<CollectionsRunDeps>): Promise<CollectionsRunSummary>;
  /** Seeded in the fake Stripe and in billops' copy (as the backfill writes it). */
  seed(resource: 'customers' | 'invoices', object: { id: string; object: string }): Promise<void>;
  /** An event applied through the webhook processing path (what the queue worker does). */
  webhook(type: Stripe.Event.Type, object: { id: string; object: string }): Promise<void>;
  sendCalls(): Array<{ invoiceId: string; key: string | null }>;
  posts(): Array<{ channel: string; text: string }>;
  close(): Promise<void>;
}

export async function startHarness(opts: { yaml?: string; start?: string } = {}): Promise<Harness> {
  const db = await createTestDb();
  const clock = new ManualClock(opts.start ?? '2026-10-01T13:00:00Z');
  const stripe = await FakeStripe.start({ now: () => Math.floor(clock.now().getTime() / 1000) });
  const slack = await startFakeSlack();
  const web = new WebClient(slack.token, { ...fakeSlackClientOptions(slack), logger: silentSlackLogger() });
  const config = testConfig({ yaml: opts.yaml ?? BASE_YAML });
  const deps: CollectionsDeps = { db: db.db, config, clock, logger: silentLogger };
  const seen: Harness['seen'] = [];
  const stripeClient = stripeCollectionsClient(stripe.client({ maxNetworkRetries: 0, timeout: 2000 }));
  const runDeps = (o: Partial<CollectionsRunDeps> = {}, other?: Db): CollectionsRunDeps => ({
    ...deps,
    ...(other ? { db: other.db } : {}),
    stripe: stripeClient,
    notifier: plainTextNotifier(web),
    workerId: 'test-replica',
    source: 'test',
    onStep: (o2) => seen.push({ ...o2, runDay: dayIn(config.file.org.timezone, clock.now()) }),
    ...o,
  });
  let seq = 0;
  return {
    db,
    clock,
    stripe,
    slack,
    config,
    deps,
    seen,
    runDeps,
    run: (o) => runCollections(runDeps(o)),
    async seed(resource, object) {
      stripe.add(resource, object as never);
      const at = new Date(clock.now().getTime() - 60_000);
      await normalizeObjects(db.db, [{ object: fx.toWire(object), version: { at, eventId: null } }], at);
    },
    async webhook(type, object) {
      const created = Math.floor(clock.now().getTime() / 1000);
      const ev = fx.event(type, object as never, { created, id: `evt_coll_${++seq}` });
      await db.db.transaction().execute((trx) => processStripeEvent(trx, fx.toWire(ev), clock.now()));
    },
    sendCalls: () =>
      stripe.writes.filter((w) => /^\/v1\/invoices\/[^/]+\/send$/.test(w.path)).map((w) => ({ invoiceId: w.objectId, key: w.idempotencyKey })),
    posts: () =>
      slack.callsTo('chat.postMessage').filter((c) => c.response['ok'] === true).map((c) => ({ channel: String(c.response['channel']), text: String(c.args['text']) })),
    async close() {
      await stripe.close();
      await slack.close();
      await db.cleanup();
    },
  };
}

/** A Stripe customer with an owner in metadata (or none). */
export function customerWith(id: string, name: string, owner?: string): Stripe.Customer {
  return fx.customer({ id, name, email: `ap@${id.toLowerCase()}.example`, metadata: owner ? { account_owner: owner } : {} });
}
