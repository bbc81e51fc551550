import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Db, connect, migrateToLatest } from '../src/db/index.js';

export function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** PostgreSQL for benchmarks: DATABASE_URL, else the local server CI uses. */
export function benchDatabaseUrl(): string {
  return process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
}

export interface BenchDb extends Db {
  drop(): Promise<void>;
}

/** A fresh, migrated database for one benchmark run, dropped afterwards. */
export async function createBenchDb(label: string): Promise<BenchDb> {
  const base = benchDatabaseUrl();
  const name = `billops_bench_${label.replace(/\W/g, '_')}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  const db = await connect({
    url: u.toString(),
    poolSize: 10,
    applicationName: `billops-bench-${label}`,
    // BENCH_SLOW_MS=200 prints every statement slower than that, to find where the time goes
    ...(process.env.BENCH_SLOW_MS
      ? {
          log: (e: import('kysely').LogEvent) => {
            if (e.queryDurationMillis >= Number(process.env.BENCH_SLOW_MS)) {
              process.stderr.write(`  [${e.queryDurationMillis.toFixed(0)} ms] ${e.query.sql.replace(/\s+/g, ' ').slice(0, 160)}\n`);
            }
          },
        }
      : {}),
  });
  await migrateToLatest(db.db);
  return {
    ...db,
    async drop() {
      await db.close();
      // BENCH_KEEP_DB=1 leaves the database for a look with psql afterwards
      if (process.env.BENCH_KEEP_DB) {
        process.stderr.write(`  kept database ${name}\n`);
        return;
      }
      const a = new pg.Client({ connectionString: base });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export function percentile(sortedMs: readonly number[], p: number): number {
  if (sortedMs.length === 0) return Number.NaN;
  const i = Math.min(sortedMs.length - 1, Math.max(0, Math.ceil((p / 100) * sortedMs.length) - 1));
  return sortedMs[i] ?? Number.NaN;
}

/** Samples this process's resident set size; `peakMb()` is the highest seen. */
export function rssSampler(everyMs = 50) {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  timer.unref();
  return {
    peakMb: () => Math.max(peak, process.memoryUsage.rss()) / (1024 * 1024),
    stop: () => clearInterval(timer),
  };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

export function fmtMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;
}
