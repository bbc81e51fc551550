import { describe, expect, it } from 'vitest';
import { BLOCK_KIT_LIMITS, charCount, validateBlockKit } from '../support/block-kit-limits.js';

const L = BLOCK_KIT_LIMITS;
const x = (n: number, ch = 'x') => ch.repeat(n);
const section = (text: string, extra: Record<string, unknown> = {}) => ({ type: 'section', text: { type: 'mrkdwn', text }, ...extra });
const button = (actionId: string, text = 'Go', extra: Record<string, unknown> = {}) => ({
  type: 'button',
  action_id: actionId,
  text: { type: 'plain_text', text },
  ...extra,
});
const option = (text: string, value = text) => ({ text: { type: 'plain_text', text }, value });
const modal = (extra: Record<string, unknown> = {}) => ({
  type: 'modal',
  title: { type: 'plain_text', text: 'Refund' },
  blocks: [section('hi')],
  ...extra,
});

describe('validateBlockKit: messages', () => {
  it('accepts a typical approval message', () => {
    const errors = validateBlockKit('message', {
      text: 'Invoice INV-1 needs approval',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Approval needed' } },
        section('*INV-1* — 1,200.00 EUR', { block_id: 'summary', fields: [{ type: 'mrkdwn', text: 'a' }] }),
        { type: 'divider' },
        { type: 'context', elements: [{ type: 'mrkdwn', text: 'requested by <@U1>' }] },
        { type: 'actions', block_id: 'decide', elements: [button('approve', 'Approve', { style: 'primary', value: 'inv_1' }), button('reject', 'Reject', { style: 'danger' })] },
      ],
    });
    expect(errors).toEqual([]);
  });

  it('limits a message to 50 blocks (also attachments[].blocks)', () => {
    const blocks = (n: number) => Array.from({ length: n }, (_, i) => section(`row ${i}`));
    expect(validateBlockKit('message', { blocks: blocks(50) })).toEqual([]);
    expect(validateBlockKit('message', { blocks: blocks(51) })).toEqual(['blocks: 51 blocks > 50']);
    expect(validateBlockKit('message', { attachments: [{ blocks: blocks(51) }] })).toEqual(['attachments[0].blocks: 51 blocks > 50']);
  });

  it('limits section text to 3000 chars and reports the path', () => {
    const blocks = [section('a'), section('b'), section('c'), section(x(3012))];
    expect(validateBlockKit('message', { blocks })).toEqual(['blocks[3].text.text: 3012 chars > 3000']);
    expect(validateBlockKit('message', { blocks: [section(x(L.sectionText))] })).toEqual([]);
  });

  it('counts characters, not UTF-16 units', () => {
    expect(charCount('€😀')).toBe(2);
    expect(validateBlockKit('message', { blocks: [section(x(3000, '😀'))] })).toEqual([]);
  });

  it('limits section fields to 10 items of 2000 chars', () => {
    const fields = (n: number, len = 5) => Array.from({ length: n }, () => ({ type: 'mrkdwn', text: x(len) }));
    expect(validateBlockKit('message', { blocks: [{ type: 'section', fields: fields(10, 2000) }] })).toEqual([]);
    expect(validateBlockKit('message', { blocks: [{ type: 'section', fields: fields(11) }] })).toEqual(['blocks[0].fields: 11 fields > 10']);
    expect(validateBlockKit('message', { blocks: [{ type: 'section', fields: fields(2, 2001) }] })).toEqual([
      'blocks[0].fields[0].text: 2001 chars > 2000',
      'blocks[0].fields[1].text: 2001 chars > 2000',
    ]);
  });

  it('requires section text or fields', () => {
    expect(validateBlockKit('message', { blocks: [{ type: 'section' }] })).toEqual(['blocks[0]: section needs "text" or "fields"']);
  });

  it('limits header text to 150 plain_text chars', () => {
    const header = (text: string, type = 'plain_text') => ({ blocks: [{ type: 'header', text: { type, text } }] });
    expect(validateBlockKit('message', header(x(150)))).toEqual([]);
    expect(validateBlockKit('message', header(x(151)))).toEqual(['blocks[0].text.text: 151 chars > 150']);
    expect(validateBlockKit('message', header('ok', 'mrkdwn'))).toEqual(['blocks[0].text.type: must be "plain_text" (got "mrkdwn")']);
  });

  it('limits button text to 75 chars', () => {
    const msg = (text: string) => ({ blocks: [{ type: 'actions', elements: [button('a', text)] }] });
    expect(validateBlockKit('message', msg(x(75)))).toEqual([]);
    expect(validateBlockKit('message', msg(x(76)))).toEqual(['blocks[0].elements[0].text.text: 76 chars > 75']);
  });

  it('limits action_id and block_id to 255 chars', () => {
    const errors = validateBlockKit('message', {
      blocks: [{ type: 'actions', block_id: x(256, 'b'), elements: [button(x(256, 'a'))] }],
    });
    expect(errors).toEqual(['blocks[0].block_id: 256 chars > 255', 'blocks[0].elements[0].action_id: 256 chars > 255']);
  });

  it('rejects duplicate action_id anywhere in the message, and duplicate block_id', () => {
    const errors = validateBlockKit('message', {
      blocks: [
        { type: 'actions', block_id: 'b1', elements: [button('approve')] },
        section('x', { block_id: 'b1', accessory: button('approve') }),
      ],
    });
    expect(errors).toEqual([
      'blocks[1].block_id: duplicate block_id "b1" (first at blocks[0].block_id)',
      'blocks[1].accessory.action_id: duplicate action_id "approve" (first at blocks[0].elements[0].action_id)',
    ]);
  });

  it('limits context elements to 10 and actions elements to 25', () => {
    const ctx = (n: number) => ({ blocks: [{ type: 'context', elements: Array.from({ length: n }, () => ({ type: 'mrkdwn', text: 'c' })) }] });
    const acts = (n: number) => ({ blocks: [{ type: 'actions', elements: Array.from({ length: n }, (_, i) => button(`a${i}`)) }] });
    expect(validateBlockKit('message', ctx(10))).toEqual([]);
    expect(validateBlockKit('message', ctx(11))).toEqual(['blocks[0].elements: 11 elements > 10']);
    expect(validateBlockKit('message', acts(25))).toEqual([]);
    expect(validateBlockKit('message', acts(26))).toEqual(['blocks[0].elements: 26 elements > 25']);
  });

  it('rejects empty text objects', () => {
    const errors = validateBlockKit('message', {
      blocks: [section(''), { type: 'context', elements: [{ type: 'plain_text', text: '' }] }],
    });
    expect(errors).toEqual(['blocks[0].text.text: must not be empty', 'blocks[1].elements[0].text: must not be empty']);
  });

  it('limits static_select to 100 options of 75 chars', () => {
    const select = (options: unknown[]) => ({
      blocks: [{ type: 'actions', elements: [{ type: 'static_select', action_id: 's', placeholder: { type: 'plain_text', text: 'Pick' }, options }] }],
    });
    const many = (n: number) => Array.from({ length: n }, (_, i) => option(`o${i}`));
    expect(validateBlockKit('message', select(many(100)))).toEqual([]);
    expect(validateBlockKit('message', select(many(101)))).toEqual(['blocks[0].elements[0].options: 101 options > 100']);
    expect(validateBlockKit('message', select([option(x(76), 'v')]))).toEqual(['blocks[0].elements[0].options[0].text.text: 76 chars > 75']);
  });

  it('limits top-level text to 40,000 chars', () => {
    expect(validateBlockKit('message', { text: x(40_000) })).toEqual([]);
    expect(validateBlockKit('message', { text: x(40_001) })).toEqual(['text: 40001 chars > 40000']);
  });
});

describe('validateBlockKit: views', () => {
  it('accepts a modal with inputs and a submit button', () => {
    const view = modal({
      callback_id: 'refund_modal',
      private_metadata: JSON.stringify({ invoice: 'INV-1' }),
      submit: { type: 'plain_text', text: 'Refund' },
      close: { type: 'plain_text', text: 'Cancel' },
      blocks: [{ type: 'input', block_id: 'amount', label: { type: 'plain_text', text: 'Amount' }, element: { type: 'plain_text_input', action_id: 'value' } }],
    });
    expect(validateBlockKit('modal', view)).toEqual([]);
  });

  it('limits the modal title to 24 chars and requires it', () => {
    expect(validateBlockKit('modal', modal({ title: { type: 'plain_text', text: x(24) } }))).toEqual([]);
    expect(validateBlockKit('modal', modal({ title: { type: 'plain_text', text: x(25) } }))).toEqual(['title.text: 25 chars > 24']);
    expect(validateBlockKit('modal', modal({ title: undefined }))).toEqual(['title: required']);
  });

  it('limits submit/close to 24 chars, private_metadata to 3000, callback_id to 255', () => {
    const errors = validateBlockKit(
      'modal',
      modal({
        submit: { type: 'plain_text', text: x(25) },
        close: { type: 'plain_text', text: x(25) },
        private_metadata: x(3001),
        callback_id: x(256),
      }),
    );
    expect(errors).toEqual([
      'private_metadata: 3001 chars > 3000',
      'callback_id: 256 chars > 255',
      'submit.text: 25 chars > 24',
      'close.text: 25 chars > 24',
    ]);
  });

  it('requires submit when a modal has input blocks', () => {
    const view = modal({ blocks: [{ type: 'input', label: { type: 'plain_text', text: 'Why' }, element: { type: 'plain_text_input' } }] });
    expect(validateBlockKit('modal', view)).toEqual(['submit: required when the view has input blocks']);
  });

  it('limits modal and home views to 100 blocks', () => {
    const blocks = (n: number) => Array.from({ length: n }, () => ({ type: 'divider' }));
    expect(validateBlockKit('modal', modal({ blocks: blocks(100) }))).toEqual([]);
    expect(validateBlockKit('modal', modal({ blocks: blocks(101) }))).toEqual(['blocks: 101 blocks > 100']);
    expect(validateBlockKit('home', { type: 'home', blocks: blocks(101) })).toEqual(['blocks: 101 blocks > 100']);
    expect(validateBlockKit('home', { type: 'home', blocks: blocks(100) })).toEqual([]);
  });

  it('checks the view type matches the surface', () => {
    expect(validateBlockKit('home', modal())).toEqual(['type: must be "home" (got "modal")']);
  });
});
