export { type CommandHelp, helpBlocks, problemBlocks } from './help.js';
