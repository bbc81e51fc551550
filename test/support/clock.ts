export { ManualClock } from '../../src/util/index.js';
