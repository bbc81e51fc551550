import { coreCommands } from './core.js';
import type { CliCommand } from './types.js';

export type { CliCommand } from './types.js';

/** Every `billops` command. Each capability adds its own file here. */
export const allCommands: CliCommand[] = [...coreCommands];
