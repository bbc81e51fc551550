export { type AppDeps, type BillopsApp, createBillopsApp } from './server.js';
export { type HttpRoute, readRawBody, sendJson } from './http-routes.js';
export { type Metrics, createMetrics } from './metrics.js';
export { serve } from './serve.js';
