/**
 * A worker process that dies mid-event: it normalizes the first event it claims inside the
 * transaction, says so on stdout and then hangs until the test kills it with SIGKILL — a replica
 * killed by the OOM killer or a node going away, with its transaction open.
 * Usage: tsx crash-worker.ts <database-url>
 */
import { connect } from '../../../src/db/index.js';
import { StripeEventWorker, processStripeEvents } from '../../../src/stripe/index.js';

const url = process.argv[2];
if (!url) throw new Error('usage: crash-worker.ts <database-url>');
const db = await connect({ url, poolSize: 2 });
const worker = new StripeEventWorker({
  db: db.db,
  process: async (trx, payloads, syncedAt) => {
    const outcome = await processStripeEvents(trx, payloads, syncedAt);
    process.stdout.write('normalized\n');
    await new Promise(() => undefined);
    return outcome;
  },
});
await worker.runOnce();
