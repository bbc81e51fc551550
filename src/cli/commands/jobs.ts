import { parseArgs } from 'node:util';
import { WebClient } from '@slack/web-api';
import type { Config } from '../../config/index.js';
import type { Db } from '../../db/index.js';
import {
  JOB_BODIES,
  type JobBodies,
  type Jobs,
  type JobsOverview,
  buildJobDefinitions,
  createJobs,
  jobsOverview,
  runJobOnce,
} from '../../jobs/index.js';
import { createStripeClient } from '../../stripe/index.js';
import { type Clock, type Logger, UserError, createLogger, stringifyJson, systemClock } from '../../util/index.js';
import { out as defaultOut } from '../output.js';
import { type CliOut, cliActor, openCliDatabase } from './reconcile.js';
import type { CliCommand } from './types.js';

export interface JobsCliDeps {
  db: Db;
  config: Config;
  clock?: Clock;
  logger?: Logger;
  out?: CliOut;
  bodies?: JobBodies;
}

/** The jobs of a CLI process: the same bodies as `billops serve`, with clients built from the env. */
export function cliJobs(deps: JobsCliDeps): Jobs {
  const { config } = deps;
  const token = config.env.SLACK_BOT_TOKEN;
  const slack = token ? new WebClient(token, config.env.SLACK_API_URL ? { slackApiUrl: config.env.SLACK_API_URL } : {}) : undefined;
  return createJobs({
    db: deps.db.db,
    config,
    clock: deps.clock ?? systemClock,
    logger: deps.logger ?? createLogger(config.env.LOG_LEVEL, process.stderr),
    definitions: buildJobDefinitions({ config, slack, stripe: () => createStripeClient(config) }, deps.bodies ?? JOB_BODIES),
  });
}

function when(at: Date, timeZone: string): string {
  const p = new Intl.DateTimeFormat('en-CA', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(at);
  const get = (t: string) => p.find((x) => x.type === t)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`;
}

/** `billops jobs list` as lines. */
export function describeJobs(o: JobsOverview): string[] {
  const lines = [`Jobs (times in ${o.timezone}):`];
  for (const j of o.jobs) {
    const schedule =
      j.state === 'unavailable'
        ? `not scheduled: ${j.unavailableReason ?? 'not available'}`
        : j.state === 'off'
          ? 'off (schedules.' + j.name + ': off)'
          : `${j.scheduleWords ?? 'cron'} (${j.schedule}), next ${j.nextFireAt ? when(j.nextFireAt, o.timezone) : 'never'}`;
    const r = j.lastRun;
    const last = r
      ? `last ${when(r.startedAt, o.timezone)} ${r.outcome}${r.durationMs !== null && r.outcome !== 'skipped' ? ` in ${r.durationMs} ms` : ''} ` +
        `(${r.trigger}${r.trigger === 'schedule' ? '' : ` by ${r.triggeredBy}`})${r.errorId ? ` error id ${r.errorId}` : ''}`
      : 'never run';
    lines.push(`  ${j.name.padEnd(18)} ${schedule}`);
    lines.push(`  ${''.padEnd(18)} ${last}`);
  }
  return lines;
}

/** `billops jobs run NAME`: run it now (trigger `cli`), recorded in job_runs like any run. */
export async function runJobFromCli(name: string, deps: JobsCliDeps): Promise<void> {
  const out = deps.out ?? defaultOut;
  const jobs = cliJobs(deps);
  const result = await runJobOnce(jobs, name, jobs.clock.now(), 'cli', { actor: cliActor(), context: { via: 'billops jobs run' } });
  switch (result.status) {
    case 'succeeded':
      out.line(`${name} succeeded in ${result.durationMs} ms (job run #${result.runId}).`);
      out.line(stringifyJson(result.summary, 2));
      return;
    case 'already_running':
      throw new UserError(
        `${name} is already running (job run #${result.running.runId ?? '?'} on ${result.running.replicaId}, started ${result.running.startedAt.toISOString()}); not starting another.`,
      );
    case 'failed':
      throw new UserError(`${name} failed (job run #${result.runId}, error id ${result.errorId}): ${result.message}`);
    case 'not_claimed':
      throw new Error(`a CLI run of ${name} has no tick to claim`);
  }
}

export const jobsCommands: CliCommand[] = [
  {
    name: 'jobs list',
    usage: 'billops jobs list',
    summary: 'scheduled jobs: schedule, next run in the org time zone, last run and its outcome',
    async run(argv) {
      parseArgs({ args: argv, strict: true });
      const { config, db } = await openCliDatabase();
      try {
        for (const line of describeJobs(await jobsOverview(cliJobs({ db, config })))) defaultOut.line(line);
      } finally {
        await db.close();
      }
    },
  },
  {
    name: 'jobs run',
    usage: 'billops jobs run NAME',
    summary: 'run a scheduled job now (recorded in the job history; refused while it is already running)',
    async run(argv) {
      const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true });
      const name = positionals[0];
      if (!name || positionals.length > 1) throw new UserError('expected one job NAME: billops jobs run NAME (see billops jobs list)');
      const { config, db } = await openCliDatabase();
      try {
        await runJobFromCli(name, { db, config });
      } finally {
        await db.close();
      }
    },
  },
];
