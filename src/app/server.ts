import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel, type Logger as BoltLogger, SocketModeReceiver } from '@slack/bolt';
import type { WebClientOptions } from '@slack/web-api';
import { type StripeSource, startOutboxWorker } from '../approvals/index.js';
import type { Config } from '../config/index.js';
import type { Db } from '../db/index.js';
import { JOB_BODIES, type JobBodies, type Jobs, buildJobDefinitions, createJobs } from '../jobs/index.js';
import { approvalNotifier } from '../slack/approvals/index.js';
import { registerSlack } from '../slack/index.js';
import { slackRoleChecker } from '../slack/roles.js';
import { createStripeClient } from '../stripe/index.js';
import { type Clock, type Logger, systemClock } from '../util/index.js';
import { type HttpRoute, healthRoutes, instrument, sendJson } from './http-routes.js';
import { type Metrics, createMetrics } from './metrics.js';

export interface AppDeps {
  config: Config;
  db: Db;
  logger: Logger;
  clock?: Clock;
  /** Extra Web API client options (tests point slackApiUrl at a local stand-in). */
  slackClientOptions?: WebClientOptions;
  /** Routes contributed by capabilities (e.g. the Stripe webhook). */
  routes?: HttpRoute[];
  /** What each job does; default `JOB_BODIES` (tests substitute bodies they control). */
  jobBodies?: JobBodies;
  /** Names this replica in job history; default BILLOPS_REPLICA_ID or `<hostname>:<pid>`. */
  replicaId?: string;
  /** What the approvals outbox executes against; default a Stripe client from the config (the demo passes a local stand-in). */
  approvalStripe?: StripeSource;
}

export interface BillopsApp {
  bolt: App;
  metrics: Metrics;
  /** Scheduled jobs and their runner, shared by Slack and the scheduler (`billops serve` starts it). */
  jobs: Jobs;
  /** The approvals outbox worker of this replica (running between start and stop). */
  outbox: {
    /** Run it now (Slack calls this after a request is approved). */
    nudge(): void;
    /** Resolves when no run is in flight (tests). */
    idle(): Promise<void>;
  };
  /** Start listening; resolves with the bound port (0 picks a free one). */
  start(port: number): Promise<{ port: number }>;
  stop(): Promise<void>;
}

/** Bolt wants its own logger shape; route it into pino. */
function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ component: 'bolt' });
  let level = LogLevel.INFO;
  return {
    debug: (...msg: unknown[]) => child.debug(msg.map(String).join(' ')),
    info: (...msg: unknown[]) => child.info(msg.map(String).join(' ')),
    warn: (...msg: unknown[]) => child.warn(msg.map(String).join(' ')),
    error: (...msg: unknown[]) => child.error(msg.map(String).join(' ')),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

export function createBillopsApp(deps: AppDeps): BillopsApp {
  const { config, db, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const { SLACK_BOT_TOKEN: token, SLACK_SIGNING_SECRET: signingSecret, SLACK_APP_TOKEN: appToken, SLACK_API_URL } = config.env;
  if (!token) throw new Error('SLACK_BOT_TOKEN is required to serve Slack (see README: Slack app setup)');
  const metrics = createMetrics();
  const routes = [...healthRoutes(db.db, metrics), ...(deps.routes ?? [])].map((r) => instrument(r, metrics, logger));
  const blog = boltLogger(logger);
  const clientOptions: WebClientOptions = {
    ...(SLACK_API_URL ? { slackApiUrl: SLACK_API_URL } : {}),
    ...deps.slackClientOptions,
    logger: blog,
  };

  let receiver: HTTPReceiver | SocketModeReceiver;
  let sideServer: Server | undefined;
  if (appToken) {
    // Socket Mode (development): Slack traffic over a websocket, our HTTP routes on our own server.
    receiver = new SocketModeReceiver({ appToken, logger: blog });
  } else {
    if (!signingSecret) throw new Error('SLACK_SIGNING_SECRET is required to serve Slack over HTTP');
    receiver = new HTTPReceiver({
      signingSecret,
      logger: blog,
      // ack() answers the HTTP request at once; work continues after (Slack's 3-second rule).
      processBeforeResponse: false,
      customRoutes: routes.map((r) => ({ path: r.path, method: r.method, handler: (req, res) => void r.handler(req, res) })),
    });
  }
  const bolt = new App({ token, receiver, convoStore: false, logger: blog, clientOptions });
  // What Slack shows when an approval request settles (executed, failed, expired…): its message in
  // place, the requester's DM. Shared by the outbox worker and the approval jobs.
  const onApprovalSettled = approvalNotifier({ config, db, clock, logger }, bolt.client);
  const jobs = createJobs({
    db: db.db,
    config,
    clock,
    logger,
    ...(deps.replicaId ? { replicaId: deps.replicaId } : {}),
    definitions: buildJobDefinitions(
      { config, slack: bolt.client, stripe: () => createStripeClient(config), onApprovalSettled },
      deps.jobBodies ?? JOB_BODIES,
    ),
  });
  // The approvals outbox worker: one per replica (SKIP LOCKED keeps replicas apart), nudged by Slack
  // after an approval, its results announced in Slack (the request's message updated, the requester DMed).
  let worker: ReturnType<typeof startOutboxWorker> | undefined;
  const outbox: BillopsApp['outbox'] = {
    nudge: () => worker?.nudge(),
    idle: async () => worker?.idle(),
  };
  const startWorker = () => {
    // Without STRIPE_SECRET_KEY the worker still runs: resolving an exception needs no Stripe, and a
    // Stripe action fails with a message saying the key is missing (retried, then retryable from Slack).
    worker = startOutboxWorker({
      db: db.db,
      config,
      clock,
      logger: logger.child({ component: 'approvals' }),
      roles: slackRoleChecker(bolt.client, config.file.roles),
      stripe: deps.approvalStripe ?? (() => createStripeClient(config)),
      onSettled: onApprovalSettled,
      pollMs: config.file.approvals.executor.poll_interval_ms,
    });
  };
  registerSlack(bolt, { config, db, clock, logger, jobs, approvals: { nudge: () => outbox.nudge() } });
  bolt.error(async (err) => {
    logger.error({ err }, 'unhandled Slack listener error');
  });

  return {
    bolt,
    metrics,
    jobs,
    outbox,
    async start(port) {
      if (receiver instanceof HTTPReceiver) {
        const server = (await receiver.start(port)) as Server;
        startWorker();
        return { port: (server.address() as AddressInfo).port };
      }
      await receiver.start();
      sideServer = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://localhost');
        const route = routes.find((r) => r.path === url.pathname && r.method === req.method);
        if (!route) return sendJson(res, 404, { error: 'not found' });
        void route.handler(req, res);
      });
      const srv = sideServer;
      await new Promise<void>((resolve) => srv.listen(port, resolve));
      startWorker();
      return { port: (srv.address() as AddressInfo).port };
    },
    async stop() {
      const running = worker;
      worker = undefined;
      await running?.stop();
      await receiver.stop();
      if (sideServer) await new Promise<void>((resolve) => sideServer?.close(() => resolve()));
    },
  };
}
