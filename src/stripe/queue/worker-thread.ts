/**
 * Entry of the queue worker's thread (see thread.ts): its own connection pool and event loop, so
 * normalizing events never holds up the HTTP intake of webhooks on the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { connect } from '../../db/index.js';
import { createLogger } from '../../util/index.js';
import type { ThreadData, ThreadMessage, ThreadReply } from './thread.js';
import { StripeEventWorker } from './worker.js';

const data = workerData as ThreadData;
const port = parentPort;
if (!port) throw new Error('worker-thread.ts runs as a worker thread only');

const db = await connect({ url: data.url, poolSize: data.options.concurrency + 1, applicationName: 'billops-stripe-worker' });
const worker = new StripeEventWorker({ db: db.db, logger: createLogger(data.logLevel), ...data.options });
worker.start();
port.postMessage({ kind: 'started' } satisfies ThreadReply);

port.on('message', (m: ThreadMessage) => {
  if (m.kind === 'wake') worker.wake();
  if (m.kind === 'stop') {
    void (async () => {
      await worker.stop();
      await db.close();
      port.postMessage({ kind: 'stopped', stats: worker.stats } satisfies ThreadReply);
    })();
  }
});
