/**
 * `npm run bench -- webhooks [RATE] [SECONDS]`: signed Stripe webhook deliveries over loopback to
 * `POST /stripe/webhook` on the real app (Bolt's HTTP server, the group-committing event store,
 * real PostgreSQL), with the queue worker running as in `billops serve` (its own thread and pool).
 *
 * The load comes from a worker thread (its own event loop), open loop at RATE events/s for SECONDS
 * (default 1,200/s for 10 s): each request is timed from the moment it was due, so a stall shows in
 * the latencies instead of slowing the sender (no coordinated omission). 2% of deliveries repeat an
 * earlier event, as Stripe's at-least-once delivery does. Then a closed-loop burst (64 in flight)
 * measures the ceiling. Afterwards: every event stored exactly once, and the time for the queue to
 * drain. Payloads are the demo month's events (0.8–6.5 KB) with fresh event ids, and fresh object ids
 * on each pass over the month (several events per object, as in a real account), signed by stripe-node.
 * Baseline, same run: the same deliveries to a route that only reads the body and answers 200.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { type Kysely, sql } from 'kysely';
import Stripe from 'stripe';
import { type HttpRoute, createBillopsApp, sendJson, readRawBody } from '../src/app/index.js';
import { parseEnv, defaultBillopsFile } from '../src/config/index.js';
import type { Database } from '../src/db/index.js';
import { ThreadedEventWorker, createStripeIngest, demoStripeDataset } from '../src/stripe/index.js';
import { silentLogger } from '../src/util/index.js';
import { startFakeSlack } from '../test/support/fake-slack.js';
import { createBenchDb, fmtMs, percentile, say } from './lib.js';

const SECRET = 'whsec_bench_secret';
/** A queue that has not drained two minutes after the last delivery counts as not draining. */
const DRAIN_LIMIT_MS = 120_000;

/** The load generator: plain JS in a worker thread; only node:http, so nothing to compile. */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { port, path, bodies, signatures, mode, rate, inFlight } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
const n = bodies.length;
const latencies = new Float64Array(n);
const statuses = new Int32Array(n);
let done = 0;
let started;
function send(i, due, retried) {
  const body = bodies[i];
  const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: {
    'content-type': 'application/json; charset=utf-8', 'stripe-signature': signatures[i], 'content-length': Buffer.byteLength(body),
    'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)' } }, (res) => {
    res.resume();
    res.on('end', () => finish(i, due, res.statusCode));
  });
  // A kept-alive socket the server closed as idle just as it was reused: send again on a fresh one,
  // as HTTP clients do (a redelivered webhook is harmless by design).
  req.on('error', (err) => (req.reusedSocket && !retried && (err.code === 'ECONNRESET' || err.code === 'EPIPE') ? send(i, due, true) : finish(i, due, 0)));
  req.end(body);
}
function finish(i, due, status) {
  latencies[i] = performance.now() - due;
  statuses[i] = status;
  if (++done === n) parentPort.postMessage({ latencies, statuses, elapsedMs: performance.now() - started });
  else if (mode === 'closed' && next < n) { const k = next++; send(k, performance.now()); }
}
let next = 0;
started = performance.now();
if (mode === 'closed') {
  for (; next < Math.min(inFlight, n); next++) send(next, performance.now());
} else {
  const interval = 1000 / rate;
  const t0 = started;
  const tick = () => {
    const now = performance.now();
    while (next < n && t0 + next * interval <= now) { const k = next++; send(k, t0 + k * interval); }
    if (next < n) setTimeout(tick, 1);
  };
  tick();
}
`;

/**
 * CPU time (ms) spent machine-wide, by this process and by this database's PostgreSQL backends —
 * so a run on a busy machine says so. Linux only (reads /proc); elsewhere null.
 */
async function cpuSnapshot(db: Kysely<Database>): Promise<{ machine: number; own: number; postgres: number } | null> {
  try {
    const tick = 10; // USER_HZ is 100 on Linux
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const busy = fields.reduce((a, b) => a + b, 0) - (fields[3] ?? 0) - (fields[4] ?? 0);
    const own = process.cpuUsage();
    const pids = (await sql<{ pid: number }>`select pid from pg_stat_activity where datname = current_database()`.execute(db)).rows.map((r) => r.pid);
    let pgTicks = 0;
    for (const pid of pids) {
      const f = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
      pgTicks += Number(f[11]) + Number(f[12]);
    }
    return { machine: busy * tick, own: (own.user + own.system) / 1000, postgres: pgTicks * tick };
  } catch {
    return null;
  }
}

interface LoadResult {
  latencies: Float64Array;
  statuses: Int32Array;
  elapsedMs: number;
}

function load(port: number, path: string, bodies: string[], signatures: string[], mode: 'open' | 'closed', rate: number, inFlight: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(CLIENT, { eval: true, workerData: { port, path, bodies, signatures, mode, rate, inFlight } });
    w.once('message', (m: LoadResult) => {
      void w.terminate();
      resolve(m);
    });
    w.once('error', reject);
  });
}

interface Deliveries {
  bodies: string[];
  signatures: string[];
  unique: number;
}

/** `count` deliveries of the demo month's events with fresh ids; every 50th repeats an earlier one. */
function deliveries(templates: readonly Record<string, unknown>[], count: number, prefix: string, startSeq: { n: number }): Deliveries {
  const bodies: string[] = [];
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 50 === 49 && bodies.length > 10) {
      bodies.push(bodies[bodies.length - 10] as string);
      continue;
    }
    // Each pass over the month is a new set of customers, invoices, charges…: several events per
    // object, as in a real account, not the same few hundred objects updated over and over.
    const round = Math.floor(startSeq.n / templates.length);
    const t = templates[startSeq.n % templates.length] as Record<string, unknown>;
    const id = `evt_${prefix}${String(startSeq.n++).padStart(10, '0')}`;
    ids.push(id);
    bodies.push(JSON.stringify({ ...t, id }, null, 2).replaceAll('_demo', `_demo${round}r`));
  }
  // Signed now with the real library, as Stripe signs each delivery (well inside the 300 s tolerance).
  const signatures = bodies.map((payload) => Stripe.webhooks.generateTestHeaderString({ payload, secret: SECRET }));
  return { bodies, signatures, unique: ids.length };
}

function stats(r: LoadResult, label: string): { rate: number; p50: number; p95: number; p99: number; errors: number } {
  const sorted = Array.from(r.latencies).sort((a, b) => a - b);
  const errors = Array.from(r.statuses).filter((s) => s !== 200).length;
  const byStatus = new Map<number, number>();
  for (const s of r.statuses) if (s !== 200) byStatus.set(s, (byStatus.get(s) ?? 0) + 1);
  const rate = (r.latencies.length / r.elapsedMs) * 1000;
  const p50 = percentile(sorted, 50);
  const p95 = percentile(sorted, 95);
  const p99 = percentile(sorted, 99);
  say(
    `  ${label.padEnd(34)} ${String(r.latencies.length).padStart(6)} deliveries in ${fmtMs(r.elapsedMs).padStart(8)} → ${rate.toFixed(0).padStart(5)} events/s; ` +
      `p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${(sorted[sorted.length - 1] ?? 0).toFixed(1)} ms; non-200: ${errors}${errors ? ` (${[...byStatus].map(([k, v]) => `${k === 0 ? 'connection error' : k} ×${v}`).join(', ')})` : ''}`,
  );
  return { rate, p50, p95, p99, errors };
}

export async function run(args: string[]): Promise<void> {
  const rate = Number(args[0] ?? 1200);
  const seconds = Number(args[1] ?? 10);
  const db = await createBenchDb('webhooks');
  const slack = await startFakeSlack();
  const templates = demoStripeDataset().events;
  try {
    const config = {
      env: parseEnv({ SLACK_BOT_TOKEN: slack.token, SLACK_SIGNING_SECRET: 'bench-signing-secret', STRIPE_WEBHOOK_SECRET: SECRET, LOG_LEVEL: 'silent' }),
      file: defaultBillopsFile(),
      filePath: null,
    };
    const q = config.file.stripe.queue;
    // Exactly what `billops serve` runs: the webhook route, the group-committing intake and this
    // replica's queue worker (in its own thread, with its own pool, on PostgreSQL).
    const ingest = createStripeIngest({ config, db, logger: silentLogger });
    const baseline: HttpRoute = {
      path: '/bench/baseline',
      method: 'POST',
      handler: async (req, res) => {
        await readRawBody(req);
        sendJson(res, 200, { received: true });
      },
    };
    const app = createBillopsApp({
      config,
      db,
      logger: silentLogger,
      slackClientOptions: { slackApiUrl: slack.apiUrl },
      routes: [...ingest.routes, baseline],
    });
    const { port } = await app.start(0);
    ingest.start();
    const seq = { n: 1 };
    say(
      `webhooks benchmark: POST /stripe/webhook on 127.0.0.1:${port}, PostgreSQL ${db.url?.replace(/\/\/[^@]*@/, '//')}, ` +
        `queue worker ${q.concurrency}×${q.batch_size} in ${ingest.worker instanceof ThreadedEventWorker ? 'its own thread' : 'the main thread'}`,
    );
    const sizes = templates.map((t) => JSON.stringify(t, null, 2).length).sort((a, b) => a - b);
    say(`  payloads: the demo month's ${templates.length} events, object ids renewed each pass over the month, ${sizes[0]}–${sizes[sizes.length - 1]} bytes (median ${sizes[Math.floor(sizes.length / 2)]})`);

    const warm = deliveries(templates, 500, 'warm', seq);
    await load(port, '/stripe/webhook', warm.bodies, warm.signatures, 'open', 500, 256);

    const base = deliveries(templates, rate * seconds, 'base', seq);
    const baseElu0 = performance.eventLoopUtilization();
    const baseRes = await load(port, '/bench/baseline', base.bodies, base.signatures, 'open', rate, 256);
    const baseElu = performance.eventLoopUtilization(baseElu0);
    say('');
    const b = stats(baseRes, `baseline (read body, answer 200)`);
    say(`    app event loop busy ${(baseElu.utilization * 100).toFixed(0)}% of the time`);

    const main = deliveries(templates, rate * seconds, 'main', seq);
    const before = await sql<{ n: string }>`select count(*)::text as n from stripe_events`.execute(db.db);
    const cpu0 = await cpuSnapshot(db.db);
    const elu0 = performance.eventLoopUtilization();
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const mainRes = await load(port, '/stripe/webhook', main.bodies, main.signatures, 'open', rate, 256);
    const elu = performance.eventLoopUtilization(elu0);
    lag.disable();
    const cpu1 = await cpuSnapshot(db.db);
    const m = stats(mainRes, `webhook, open loop at ${rate}/s`);
    if (cpu0 && cpu1) {
      const wall = mainRes.elapsedMs * cpus().length;
      const own = cpu1.own - cpu0.own;
      const pgUsed = cpu1.postgres - cpu0.postgres;
      const others = Math.max(0, cpu1.machine - cpu0.machine - own - pgUsed);
      say(
        `    CPU of the ${cpus().length} cores: billops + load generator ${((100 * own) / wall).toFixed(0)}%, its PostgreSQL backends ${((100 * pgUsed) / wall).toFixed(0)}%, ` +
          `everything else on the machine ${((100 * others) / wall).toFixed(0)}%${others / wall > 0.1 ? ' — a busy machine: rerun for a clean figure' : ''}`,
      );
    }
    say(
      `    app event loop busy ${(elu.utilization * 100).toFixed(0)}% of the time (HTTP intake; the queue worker has its own thread, as in billops serve); ` +
        `loop delay p99 ${(lag.percentile(99) / 1e6).toFixed(1)} ms, max ${(lag.max / 1e6).toFixed(1)} ms`,
    );
    const ingestEnd = performance.now();
    // The queue drains behind the intake: time from the last answer to an empty queue.
    let backlog = -1;
    let drainMs = Number.POSITIVE_INFINITY;
    for (;;) {
      const r = await sql<{ n: string }>`select count(*)::text as n from stripe_events where status in ('pending', 'processing')`.execute(db.db);
      const n = Number(r.rows[0]?.n ?? 0);
      if (backlog < 0) backlog = n;
      if (n === 0) {
        drainMs = performance.now() - ingestEnd;
        break;
      }
      if (performance.now() - ingestEnd > DRAIN_LIMIT_MS) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const after = await sql<{ n: string }>`select count(*)::text as n from stripe_events`.execute(db.db);
    const stored = Number(after.rows[0]?.n ?? 0) - Number(before.rows[0]?.n ?? 0);

    const burst = deliveries(templates, 10_000, 'burst', seq);
    const burstRes = await load(port, '/stripe/webhook', burst.bodies, burst.signatures, 'closed', 0, 64);
    const burstEnd = performance.now();
    for (;;) {
      const r = await sql<{ n: string }>`select count(*)::text as n from stripe_events where status in ('pending', 'processing')`.execute(db.db);
      if (r.rows[0]?.n === '0' || performance.now() - burstEnd > DRAIN_LIMIT_MS) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const burstDrainMs = performance.now() - burstEnd;
    const outcome = await sql<{ status: string; n: string }>`select status, count(*)::text as n from stripe_events group by status order by status`.execute(db.db);

    say(`    stored ${stored} events for ${main.unique} unique ids (${main.bodies.length - main.unique} repeated deliveries answered 2xx, not stored again)`);
    say(`    queue: ${backlog} events waiting when the last delivery was answered; ${Number.isFinite(drainMs) ? `drained in ${fmtMs(drainMs)}` : 'NOT drained after 2 minutes'}`);
    const burstStats = stats(burstRes, 'webhook, closed loop, 64 in flight');
    say(`    queue drained ${fmtMs(burstDrainMs)} after the burst's last answer`);
    await app.stop();
    await ingest.stop();
    say(`  events by status at the end: ${outcome.rows.map((r) => `${r.status} ${r.n}`).join(', ')}; worker: ${JSON.stringify(ingest.worker.stats)}`);
    say('');
    const okRate = m.rate >= 1000 && m.errors === 0;
    const okP99 = m.p99 < 50;
    const okStored = stored === main.unique;
    say(
      `targets: ≥ 1,000 events/s stored: ${okRate ? 'met' : 'NOT met'} (${m.rate.toFixed(0)}/s, ${m.errors} errors); p99 < 50 ms: ${okP99 ? 'met' : 'NOT met'} (${m.p99.toFixed(1)} ms); ` +
        `each event stored once: ${okStored ? 'met' : 'NOT met'}; queue drains: ${Number.isFinite(drainMs) ? `met (${fmtMs(drainMs)})` : 'NOT met'}; ` +
        `p99 vs baseline ${(m.p99 / Math.max(b.p99, 0.1)).toFixed(1)}×; burst ceiling ${burstStats.rate.toFixed(0)} events/s`,
    );
  } finally {
    await slack.close();
    await db.drop();
  }
}
