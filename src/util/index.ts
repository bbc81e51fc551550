export { UserError, ValidationError, isUserError, newErrorId } from './errors.js';
export { type Clock, systemClock, ManualClock } from './clock.js';
export { toJsonSafe, stringifyJson } from './json.js';
export { type Logger, createLogger, silentLogger, REDACT_PATHS } from './logger.js';
