export { type CommandHelp, helpBlocks, problemBlocks } from './help.js';
export {
  type GlMessage,
  glImportedBlocks,
  glAlreadyImportedBlocks,
  glRejectedBlocks,
  glNotAllowedBlocks,
  glNotCsvBlocks,
  glFailedBlocks,
} from './gl-import.js';
export { ACTION, VIEW, exceptionActionButtons } from './ids.js';
