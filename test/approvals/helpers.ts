import type Stripe from 'stripe';
import { type ApprovalDeps, type ApprovalRequestView, type OutboxDeps, configRoleChecker, runOutbox } from '../../src/approvals/index.js';
import type { Config } from '../../src/config/index.js';
import { normalizeObjects } from '../../src/stripe/index.js';
import { ManualClock, silentLogger } from '../../src/util/index.js';
import { testConfig } from '../support/config.js';
import { type TestDb, createTestDb } from '../support/db.js';
import { FakeStripe } from '../support/fake-stripe.js';
import * as fx from '../support/stripe-fixtures.js';

/** People in the tests' billops.yml. */
export const REQUESTER = { userId: 'UREQ0001', userName: 'riley', teamId: 'T0TEST', channelId: 'C0OPS0001' };
export const REQUESTER_2 = { userId: 'UREQ0002', userName: 'sam', teamId: 'T0TEST', channelId: 'C0OPS0001' };
export const APPROVER_1 = { userId: 'UAPR0001', userName: 'casey', teamId: 'T0TEST', channelId: 'C0APR0001', messageTs: '1762000000.000100' };
export const APPROVER_2 = { userId: 'UAPR0002', userName: 'jordan', teamId: 'T0TEST', channelId: 'C0APR0001', messageTs: '1762000000.000100' };
export const ADMIN = { userId: 'UADM0001', userName: 'alex', teamId: 'T0TEST', channelId: 'C0APR0001' };
export const OUTSIDER = { userId: 'UOUT0001', userName: 'pat', teamId: 'T0TEST', channelId: 'C0OPS0001' };

export const ROLES_YAML = `roles:
  admin: [${ADMIN.userId}]
  approver: [${APPROVER_1.userId}, ${APPROVER_2.userId}]
  requester: [${REQUESTER.userId}, ${REQUESTER_2.userId}, ${APPROVER_1.userId}]
`;

export interface Harness {
  db: TestDb;
  clock: ManualClock;
  fake: FakeStripe;
  config: Config;
  deps: ApprovalDeps;
  /** A stripe-node client on the fake (no stripe-node retries: every failure reaches the executor). */
  stripe: Stripe;
  settled: ApprovalRequestView[];
  outboxDeps(overrides?: Partial<OutboxDeps>): OutboxDeps;
  run(overrides?: Partial<OutboxDeps>): ReturnType<typeof runOutbox>;
  /** A Stripe object seeded in the fake and in billops' copy (as a backfill a minute ago would have written it). */
  seed<T extends { id: string; object: string }>(resource: 'customers' | 'subscriptions' | 'invoices', object: T): Promise<T>;
  close(): Promise<void>;
}

export async function startHarness(opts: { yaml?: string; timeoutMs?: number } = {}): Promise<Harness> {
  const db = await createTestDb();
  const clock = new ManualClock('2026-11-01T09:00:00Z');
  const fake = await FakeStripe.start({ now: () => Math.floor(clock.now().getTime() / 1000) });
  const config = testConfig({ yaml: `${ROLES_YAML}${opts.yaml ?? ''}` });
  const deps: ApprovalDeps = { db: db.db, config, clock, logger: silentLogger, roles: configRoleChecker(config) };
  const stripe = fake.client({ maxNetworkRetries: 0, timeout: opts.timeoutMs ?? 2000 });
  const settled: ApprovalRequestView[] = [];
  const outboxDeps = (o: Partial<OutboxDeps> = {}): OutboxDeps => ({
    ...deps,
    stripe,
    onSettled: async (r) => {
      settled.push(r);
    },
    workerId: 'test-worker',
    ...o,
  });
  return {
    db,
    clock,
    fake,
    config,
    deps,
    stripe,
    settled,
    outboxDeps,
    run: (o) => runOutbox(outboxDeps(o)),
    async seed(resource, object) {
      fake.add(resource, object as never);
      const at = new Date(clock.now().getTime() - 60_000);
      await normalizeObjects(db.db, [{ object: fx.toWire(object), version: { at, eventId: null } }], at);
      return object;
    },
    async close() {
      await fake.close();
      await db.cleanup();
    },
  };
}

export { fx };
