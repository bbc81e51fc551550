import { collectionsCommands } from './collections.js';
import { coreCommands } from './core.js';
import { exportCommands } from './export.js';
import { jobsCommands } from './jobs.js';
import { ledgerCommands } from './ledger.js';
import { reconcileCommands } from './reconcile.js';
import { stripeCommands } from './stripe.js';
import type { CliCommand } from './types.js';

export type { CliCommand } from './types.js';

/** Every `billops` command. Each capability adds its own file here. */
export const allCommands: CliCommand[] = [...coreCommands, ...stripeCommands, ...ledgerCommands, ...reconcileCommands, ...exportCommands, ...jobsCommands, ...collectionsCommands];
