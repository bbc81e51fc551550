import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describeImportResult, demoGlExport, importGlExport, ledgerConfigSchema } from '../../ledger/index.js';
import { demoStripeDataset } from '../../stripe/index.js';
import type { DemoStep } from './context.js';

/**
 * The GL side of the demo month: QuickBooks' "Transaction Detail by Account" export for October,
 * written into the demo folder and imported through the same importer the CLI and Slack use.
 */
export const ledgerDemoStep: DemoStep = async (ctx) => {
  const gl = demoGlExport(demoStripeDataset(), ctx.config.file.org.name);
  const file = path.join(ctx.dir, gl.fileName);
  writeFileSync(file, gl.csv);
  ctx.say(`Wrote ${path.relative(process.cwd(), file) || file}: ${gl.postings} postings in 5 account sections, as QuickBooks Online exports them.`);
  // QuickBooks shows income credit-positive; billops.yml says so for this account.
  const ledger = ledgerConfigSchema.parse({
    ...ctx.config.file.ledger,
    default_currency: ctx.config.file.ledger.default_currency,
    quickbooks: { credit_normal_accounts: [...ctx.config.file.ledger.quickbooks.credit_normal_accounts, '^Subscription Revenue$'] },
  });
  ctx.say('billops.yml for it: ledger.quickbooks.credit_normal_accounts: ["^Subscription Revenue$"]');
  const result = await importGlExport(
    { db: ctx.db, ledger, clock: ctx.clock, logger: ctx.logger },
    {
      input: Readable.from([Buffer.from(gl.csv)]),
      fileName: gl.fileName,
      actor: { kind: 'system', id: 'demo', name: 'billops demo' },
      via: 'demo',
    },
  );
  if (result.status !== 'imported') throw new Error(`the demo GL export did not import: ${describeImportResult(result).join(' / ')}`);
  for (const line of describeImportResult(result)) ctx.say(line);
  ctx.say();
  ctx.say('Planted in the books for matching to find:');
  for (const d of gl.discrepancies) ctx.say(`  • ${d}`);
};
