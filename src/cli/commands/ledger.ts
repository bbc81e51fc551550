import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import type { Actor } from '../../audit/index.js';
import { type Config, loadConfig } from '../../config/index.js';
import { type Db, connect, migrateToLatest } from '../../db/index.js';
import {
  GL_FORMATS,
  type GlFormat,
  type GlImportResult,
  describeImportResult,
  findImportBySha256,
  importGlExport,
  rejectionHeadline,
  rejectionLines,
} from '../../ledger/index.js';
import { type Clock, type Logger, UserError, ValidationError, createLogger, systemClock } from '../../util/index.js';
import { out as defaultOut } from '../output.js';
import type { CliCommand } from './types.js';

const USAGE = 'billops import gl FILE [--format quickbooks|xero|netsuite|generic] [--mapping NAME] [--currency XXX]';

export interface ImportGlDeps {
  db: Db;
  config: Config;
  clock?: Clock;
  out?: { line(text?: string): void; error(text: string): void };
  /** Where the progress bar goes: stderr when it is a terminal, nowhere otherwise. */
  progress?: NodeJS.WritableStream | null;
  /** Who runs the command (the OS user by default). */
  actor?: Actor;
  /** JSON logs, on stderr so they never mix with the summary on stdout. */
  logger?: Logger;
  /** See GlImportDeps.chunkRows. */
  chunkRows?: number;
}

/** The OS user, for the audit log; a container without a passwd entry still gets a name. */
function cliActor(): Actor {
  try {
    return { kind: 'cli', id: userInfo().username || 'cli' };
  } catch {
    return { kind: 'cli', id: 'cli' };
  }
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * `billops import gl FILE …` with its dependencies given: prints the summary and returns the result;
 * throws a UserError (exit code 2) for bad arguments, an unreadable or unrecognisable file, and a file
 * with problems (the message lists them).
 */
export async function importGlFromCli(argv: string[], deps: ImportGlDeps): Promise<GlImportResult> {
  const out = deps.out ?? defaultOut;
  const { values, positionals } = parseArgs({
    args: argv,
    options: { format: { type: 'string' }, mapping: { type: 'string' }, currency: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) {
    throw new UserError(`${positionals.length === 0 ? 'Name the file to import.' : `One file at a time (got ${positionals.length}).`}\nUsage: ${USAGE}`);
  }
  const file = positionals[0] as string;
  const format = values.format;
  if (format !== undefined && !(GL_FORMATS as readonly string[]).includes(format)) {
    throw new UserError(`--format ${format} is not a format billops reads (expected ${GL_FORMATS.join(', ')}).\nUsage: ${USAGE}`, { field: 'format' });
  }
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new UserError(`${file} is not a file.`);
    size = st.size;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`Cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}.`);
  }
  const fileName = path.basename(file);

  // The same bytes imported before: say so without reading the file a second time through the parser.
  const previous = await findImportBySha256(deps.db.db, await sha256OfFile(file));
  if (previous) {
    const result: GlImportResult = { status: 'already_imported', fileName, sha256: previous.sha256, previous };
    for (const line of describeImportResult(result)) out.line(line);
    return result;
  }

  const bar =
    deps.progress != null
      ? new cliProgress.SingleBar(
          {
            stream: deps.progress,
            format: `${fileName} [{bar}] {percentage}% | {rows} postings | {eta_formatted} left`,
            hideCursor: true,
            clearOnComplete: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  bar?.start(Math.max(size, 1), 0, { rows: '0' });
  let result: GlImportResult;
  try {
    result = await importGlExport(
      { db: deps.db, ledger: deps.config.file.ledger, clock: deps.clock ?? systemClock, logger: deps.logger ?? createLogger(deps.config.env.LOG_LEVEL, process.stderr), chunkRows: deps.chunkRows },
      {
        input: createReadStream(file, { highWaterMark: 64 * 1024 }),
        fileName,
        format: format as GlFormat | undefined,
        mapping: values.mapping,
        currency: values.currency,
        actor: deps.actor ?? cliActor(),
        via: 'cli',
        context: { path: path.resolve(file) },
        onProgress: bar ? (p) => bar.update(p.bytes, { rows: p.rows.toLocaleString('en-US') }) : undefined,
      },
    );
  } finally {
    bar?.stop();
  }
  if (result.status === 'rejected') {
    throw new ValidationError(rejectionHeadline(result), rejectionLines(result));
  }
  for (const line of describeImportResult(result)) out.line(line);
  return result;
}

export const ledgerCommands: CliCommand[] = [
  {
    name: 'import gl',
    usage: USAGE,
    summary: 'import a general-ledger export (QuickBooks, Xero, NetSuite or a mapped CSV), all or nothing',
    async run(argv) {
      const config = loadConfig();
      const db = await connect({ url: config.env.DATABASE_URL, dataDir: `${config.env.BILLOPS_DATA_DIR}/pgdata` });
      try {
        await migrateToLatest(db.db);
        await importGlFromCli(argv, { db, config, progress: process.stderr.isTTY ? process.stderr : null });
      } finally {
        await db.close();
      }
    },
  },
];
