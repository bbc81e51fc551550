export { type Env, envSchema } from './env.js';
export { type BillopsFile, billopsFileSchema } from './schema.js';
export { type Config, ConfigError, loadConfig, parseEnv, parseBillopsYaml, defaultBillopsFile } from './load.js';
