import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/index.js';
import { connect, migrateToLatest } from '../db/index.js';
import { isUserError, newErrorId } from '../util/index.js';
import { runDemo } from './demo/index.js';
import { out } from './output.js';

interface CliCommand {
  usage: string;
  summary: string;
  run(argv: string[]): Promise<void>;
}

const commands: Record<string, CliCommand> = {
  migrate: {
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
  serve: {
    usage: 'billops serve',
    summary: 'run the Slack app, the Stripe webhook endpoint, health and metrics on $PORT',
    async run() {
      const { serve } = await import('../app/index.js');
      await serve();
    },
  },
  demo: {
    usage: 'billops demo [--data-dir DIR]',
    summary: 'load a realistic demo month into embedded PostgreSQL and show what Slack would show',
    async run(argv) {
      const { values } = parseArgs({ args: argv, options: { 'data-dir': { type: 'string' } }, strict: true });
      await runDemo({ dataDir: values['data-dir'] });
    },
  },
};

function usage(): string {
  const width = Math.max(...Object.values(commands).map((c) => c.usage.length));
  return ['Usage:', ...Object.values(commands).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`)].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    out.line(usage());
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    out.error(`billops: unknown command "${name}"\n${usage()}`);
    return 2;
  }
  try {
    await cmd.run(rest);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError || isUserError(err)) {
      out.error(`billops ${name}: ${(err as Error).message}`);
      return 2;
    }
    if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      out.error(`billops ${name}: ${(err as Error).message}\nUsage: ${cmd.usage}`);
      return 2;
    }
    const id = newErrorId();
    out.error(`billops ${name} failed (error id ${id}): ${(err as Error).message}`);
    if (process.env.LOG_LEVEL === 'debug') out.error((err as Error).stack ?? '');
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
