import { jobsOverview } from '../../../jobs/index.js';
import { jobsListBlocks } from '../../blocks/index.js';
import { UsageError, type Subcommand } from './billing.js';
import { jobsOf } from './reconcile.js';

/** `/billing jobs`: every scheduled job, when it runs next and how its last run went (only you see it). */
export const jobsCommand: Subcommand = {
  name: 'jobs',
  usage: 'jobs',
  summary: 'scheduled jobs: schedule, next run, last run and its outcome',
  acknowledge(req, ctx) {
    if (req.args.length > 0) throw new UsageError(ctx.config.file.slack.command, 'jobs', `\`jobs\` takes no arguments (got "${req.args.join(' ')}").`);
    return undefined;
  },
  async run(req, ctx) {
    const overview = await jobsOverview(jobsOf(ctx));
    await req.respond({ response_type: 'ephemeral', replace_original: false, ...jobsListBlocks(overview) });
  },
};
