import { parseArgs } from 'node:util';
import { loadConfig } from '../../config/index.js';
import { connect, migrateToLatest } from '../../db/index.js';
import { runDemo } from '../demo/index.js';
import { out } from '../output.js';
import type { CliCommand } from './types.js';

export const coreCommands: CliCommand[] = [
  {
    name: 'migrate',
    usage: 'billops migrate',
    summary: 'bring the database schema up to date (safe to run from several replicas at once)',
    async run() {
      const config = loadConfig();
      const db = await connect({ url: config.env.DATABASE_URL, dataDir: `${config.env.BILLOPS_DATA_DIR}/pgdata` });
      try {
        const res = await migrateToLatest(db.db);
        const applied = res.results?.filter((r) => r.status === 'Success').map((r) => r.migrationName) ?? [];
        out.line(applied.length ? `Applied ${applied.length} migration(s): ${applied.join(', ')}` : 'Schema is up to date.');
      } finally {
        await db.close();
      }
    },
  },
  {
    name: 'serve',
    usage: 'billops serve',
    summary: 'run the Slack app, the Stripe webhook endpoint, health and metrics on $PORT',
    async run() {
      const { serve } = await import('../../app/index.js');
      await serve();
    },
  },
  {
    name: 'demo',
    usage: 'billops demo [--data-dir DIR]',
    summary: 'load a realistic demo month into embedded PostgreSQL and show what Slack would show',
    async run(argv) {
      const { values } = parseArgs({ args: argv, options: { 'data-dir': { type: 'string' } }, strict: true });
      await runDemo({ dataDir: values['data-dir'] });
    },
  },
];
