import { describe, expect, it } from 'vitest';
import { parseBillopsYaml } from '../../src/config/index.js';

/** billops.yml `approvals:`: defaults, and mistakes named by key. */
describe('approvals: in billops.yml', () => {
  it('has working defaults', () => {
    const a = parseBillopsYaml('').approvals;
    expect(a.expire_after_hours).toBe(72);
    expect(a.policies.credit).toEqual([{ up_to: '100.00 USD', approvers: 0 }, { up_to: '5000.00 USD', approvers: 1 }, { approvers: 2 }]);
    expect(a.reason_codes.map((r) => r.code)).toEqual(['goodwill', 'service_outage', 'billing_error', 'sales_concession', 'duplicate_charge']);
    expect(a.executor).toMatchObject({ max_attempts: 5, backoff_seconds: 30, lease_seconds: 120 });
    expect(parseBillopsYaml('').schedules).toMatchObject({ approval_outbox: '* * * * *', approval_expiry: '*/15 * * * *' });
  });

  it('takes a custom taxonomy and bands', () => {
    const a = parseBillopsYaml(`
approvals:
  expire_after_hours: 24
  reason_codes:
    - { code: retention, label: Retention offer }
  policies:
    credit:
      - { up_to: "50 EUR", approvers: 1 }
      - { approvers: 2 }
    extend_trial:
      - { approvers: 0 }
`).approvals;
    expect(a.reason_codes).toEqual([{ code: 'retention', label: 'Retention offer' }]);
    expect(a.policies.credit).toEqual([{ up_to: '50 EUR', approvers: 1 }, { approvers: 2 }]);
    expect(a.policies.void_invoice).toEqual([{ up_to: '5000.00 USD', approvers: 1 }, { approvers: 2 }]);
  });

  it.each([
    ['approvals:\n  policies:\n    credit:\n      - { up_to: "100 USD", approvers: 0 }\n', /approvals\.policies\.credit\.0\.up_to: the last band takes every larger amount/],
    ['approvals:\n  policies:\n    credit:\n      - { approvers: 0 }\n      - { approvers: 1 }\n', /approvals\.policies\.credit\.0\.up_to: every band but the last needs an up_to amount/],
    ['approvals:\n  policies:\n    credit:\n      - { up_to: "500 USD", approvers: 0 }\n      - { up_to: "100 USD", approvers: 1 }\n      - { approvers: 2 }\n', /up_to amounts must grow/],
    ['approvals:\n  policies:\n    credit:\n      - { up_to: "100 USD", approvers: 0 }\n      - { up_to: "500 EUR", approvers: 1 }\n      - { approvers: 2 }\n', /use one currency \(found USD, EUR\)/],
    ['approvals:\n  policies:\n    credit:\n      - { approvers: 3 }\n', /approvals\.policies\.credit\.0\.approvers/],
    ['approvals:\n  reason_codes:\n    - { code: goodwill, label: A }\n    - { code: goodwill, label: B }\n', /"goodwill" is listed twice/],
    ['approvals:\n  reason_codes:\n    - { code: Good Will, label: A }\n', /must be lower_snake_case/],
    ['approvals:\n  expiry_hours: 4\n', /billops.yml: approvals\.expiry_hours: unknown key/],
  ])('refuses %j', (yaml, message) => {
    expect(() => parseBillopsYaml(yaml)).toThrow(message);
  });
});
