import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../util/index.js';
import type { StripeEventWorkerOptions, WorkerStats } from './worker.js';

type ThreadOptions = Required<Pick<StripeEventWorkerOptions, 'batchSize' | 'concurrency' | 'pollIntervalMs' | 'visibilityTimeoutMs' | 'maxAttempts'>>;

export interface ThreadData {
  url: string;
  logLevel: string;
  options: ThreadOptions;
}

export type ThreadMessage = { kind: 'wake' } | { kind: 'stop' };
export type ThreadReply = { kind: 'started' } | { kind: 'stopped'; stats: WorkerStats };

/** The thread's entry: compiled JavaScript in a build, TypeScript through tsx from the sources. */
function spawn(workerData: ThreadData): Worker {
  const here = import.meta.url;
  if (!/\.ts$/.test(new URL(here).pathname)) return new Worker(new URL('./worker-thread.js', here), { workerData });
  // A thread does not inherit the main thread's tsx hooks: register them first, as bin/billops.mjs
  // does (tsx's ESM API, at the path its package exports map names for `tsx/esm/api`).
  const tsxDir = path.dirname(createRequire(here).resolve('tsx/package.json'));
  const api = pathToFileURL(path.join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./worker-thread.ts', here).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

/**
 * The queue worker in a thread of its own (PostgreSQL only: embedded PGlite lives in the main
 * thread). Same behaviour as StripeEventWorker; the HTTP intake keeps the main event loop to itself.
 */
export class ThreadedEventWorker {
  stats: WorkerStats = { processed: 0, ignored: 0, retried: 0, failed: 0, lostClaims: 0 };
  private thread: Worker | null = null;
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;

  constructor(
    private readonly data: ThreadData,
    private readonly logger: Logger,
  ) {}

  start(): void {
    if (this.thread || this.stopping) return;
    const t = spawn(this.data);
    this.thread = t;
    this.exited = new Promise<void>((resolve) => {
      t.on('message', (m: ThreadReply) => {
        if (m.kind === 'started') this.failures = 0;
        if (m.kind === 'stopped') {
          this.stats = m.stats;
          void t.terminate();
        }
      });
      t.on('error', (err) => this.logger.error({ err }, 'Stripe queue worker thread failed'));
      t.on('exit', () => {
        this.thread = null;
        resolve();
        if (this.stopping) return;
        // Events stay queued (and leased ones come back): start a new thread after a pause.
        const wait = Math.min(60_000, 1000 * 2 ** this.failures++);
        this.logger.error({ restartInMs: wait }, 'Stripe queue worker thread stopped unexpectedly; restarting it');
        this.restartTimer = setTimeout(() => this.start(), wait);
        this.restartTimer.unref();
      });
    });
    t.unref();
  }

  wake(): void {
    this.thread?.postMessage({ kind: 'wake' } satisfies ThreadMessage);
  }

  /** Resolves when the thread has finished the events in hand and closed its pool. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    if (!this.thread) return;
    this.thread.postMessage({ kind: 'stop' } satisfies ThreadMessage);
    await this.exited;
  }
}
