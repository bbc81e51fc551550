/**
 * Block Kit limit checks used by the fake Slack Web API (test/support/fake-slack.ts).
 *
 * `validateBlockKit` is pure: it takes the payload as Slack would receive it (already JSON-decoded)
 * and returns human-readable violations, each prefixed with the path of the offending field,
 * e.g. `blocks[3].text.text: 3012 chars > 3000`. An empty list means "Slack would accept this".
 *
 * Lengths are counted in Unicode code points (what Slack's docs call "characters").
 * The rules cover the limits that bite in practice; unknown block/element types are only checked
 * for their ids, never rejected.
 */

export type BlockKitSurface = 'message' | 'modal' | 'home';

export const BLOCK_KIT_LIMITS = {
  messageText: 40_000,
  messageBlocks: 50,
  viewBlocks: 100,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  headerText: 150,
  buttonText: 75,
  buttonValue: 2000,
  url: 3000,
  actionId: 255,
  blockId: 255,
  contextElements: 10,
  actionsElements: 25,
  viewTitle: 24,
  viewSubmitClose: 24,
  privateMetadata: 3000,
  callbackId: 255,
  externalId: 255,
  selectOptions: 100,
  optionGroups: 100,
  optionGroupLabel: 75,
  optionText: 75,
  optionValue: 150,
  optionDescription: 75,
  overflowOptions: 5,
  radioCheckboxOptions: 10,
  placeholder: 150,
  inputLabel: 2000,
  inputHint: 2000,
  plainTextInputMaxLength: 3000,
  imageAltText: 2000,
  imageTitle: 2000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
} as const;

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Length in Unicode code points (a surrogate pair counts once). */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n += 1;
  return n;
}

interface TextRule {
  max: number;
  /** Only `plain_text` is allowed (headers, buttons, titles, options in selects...). */
  plainOnly?: boolean;
  required?: boolean;
}

const INTERACTIVE_ELEMENT_TYPES = new Set([
  'button',
  'checkboxes',
  'datepicker',
  'datetimepicker',
  'email_text_input',
  'external_select',
  'file_input',
  'multi_channels_select',
  'multi_conversations_select',
  'multi_external_select',
  'multi_static_select',
  'multi_users_select',
  'channels_select',
  'conversations_select',
  'static_select',
  'users_select',
  'number_input',
  'overflow',
  'plain_text_input',
  'radio_buttons',
  'rich_text_input',
  'timepicker',
  'url_text_input',
  'workflow_button',
  'feedback_buttons',
  'icon_button',
]);

class Checker {
  readonly errors: string[] = [];
  private readonly actionIds = new Map<string, string>();
  private readonly blockIds = new Map<string, string>();

  add(path: string, message: string): void {
    this.errors.push(`${path}: ${message}`);
  }

  maxLen(path: string, value: unknown, max: number): void {
    if (value === undefined || value === null) return;
    if (typeof value !== 'string') {
      this.add(path, 'must be a string');
      return;
    }
    const n = charCount(value);
    if (n > max) this.add(path, `${n} chars > ${max}`);
  }

  maxItems(path: string, list: unknown[], max: number, noun: string): void {
    if (list.length > max) this.add(path, `${list.length} ${noun} > ${max}`);
  }

  list(path: string, value: unknown, opts: { required?: boolean; min?: number } = {}): unknown[] | undefined {
    if (value === undefined || value === null) {
      if (opts.required) this.add(path, 'required');
      return undefined;
    }
    if (!Array.isArray(value)) {
      this.add(path, 'must be an array');
      return undefined;
    }
    if (opts.min !== undefined && value.length < opts.min) {
      this.add(path, `${value.length} items < ${opts.min}`);
    }
    return value;
  }

  text(path: string, value: unknown, rule: TextRule): void {
    if (value === undefined || value === null) {
      if (rule.required) this.add(path, 'required');
      return;
    }
    if (!isObject(value)) {
      this.add(path, 'must be a text object');
      return;
    }
    const type = value['type'];
    if (rule.plainOnly) {
      if (type !== 'plain_text') this.add(`${path}.type`, `must be "plain_text" (got ${JSON.stringify(type)})`);
    } else if (type !== 'plain_text' && type !== 'mrkdwn') {
      this.add(`${path}.type`, `must be "plain_text" or "mrkdwn" (got ${JSON.stringify(type)})`);
    }
    const text = value['text'];
    if (typeof text !== 'string') {
      this.add(`${path}.text`, 'required');
      return;
    }
    if (text.length === 0) {
      this.add(`${path}.text`, 'must not be empty');
      return;
    }
    this.maxLen(`${path}.text`, text, rule.max);
  }

  actionId(path: string, value: unknown): void {
    if (value === undefined) return;
    if (typeof value !== 'string' || value.length === 0) {
      this.add(path, 'must be a non-empty string');
      return;
    }
    this.maxLen(path, value, BLOCK_KIT_LIMITS.actionId);
    const first = this.actionIds.get(value);
    if (first !== undefined) this.add(path, `duplicate action_id ${JSON.stringify(value)} (first at ${first})`);
    else this.actionIds.set(value, path);
  }

  blockId(path: string, value: unknown): void {
    if (value === undefined) return;
    if (typeof value !== 'string' || value.length === 0) {
      this.add(path, 'must be a non-empty string');
      return;
    }
    this.maxLen(path, value, BLOCK_KIT_LIMITS.blockId);
    const first = this.blockIds.get(value);
    if (first !== undefined) this.add(path, `duplicate block_id ${JSON.stringify(value)} (first at ${first})`);
    else this.blockIds.set(value, path);
  }

  confirm(path: string, value: unknown): void {
    if (value === undefined) return;
    if (!isObject(value)) {
      this.add(path, 'must be an object');
      return;
    }
    const L = BLOCK_KIT_LIMITS;
    this.text(`${path}.title`, value['title'], { max: L.confirmTitle, plainOnly: true, required: true });
    this.text(`${path}.text`, value['text'], { max: L.confirmText, required: true });
    this.text(`${path}.confirm`, value['confirm'], { max: L.confirmButton, plainOnly: true, required: true });
    this.text(`${path}.deny`, value['deny'], { max: L.confirmButton, plainOnly: true, required: true });
  }

  option(path: string, value: unknown, plainOnly: boolean): void {
    if (!isObject(value)) {
      this.add(path, 'must be an option object');
      return;
    }
    const L = BLOCK_KIT_LIMITS;
    this.text(`${path}.text`, value['text'], { max: L.optionText, plainOnly, required: true });
    this.maxLen(`${path}.value`, value['value'], L.optionValue);
    this.text(`${path}.description`, value['description'], { max: L.optionDescription, plainOnly });
    this.maxLen(`${path}.url`, value['url'], L.url);
  }

  options(path: string, value: unknown, max: number, plainOnly: boolean, required: boolean): void {
    const list = this.list(path, value, { required });
    if (!list) return;
    this.maxItems(path, list, max, 'options');
    list.forEach((o, i) => this.option(`${path}[${i}]`, o, plainOnly));
  }

  element(path: string, el: unknown): void {
    if (!isObject(el)) {
      this.add(path, 'must be an object');
      return;
    }
    const L = BLOCK_KIT_LIMITS;
    const type = el['type'];
    if (typeof type !== 'string') {
      this.add(`${path}.type`, 'required');
      return;
    }
    if (INTERACTIVE_ELEMENT_TYPES.has(type)) this.actionId(`${path}.action_id`, el['action_id']);
    this.text(`${path}.placeholder`, el['placeholder'], { max: L.placeholder, plainOnly: true });
    this.confirm(`${path}.confirm`, el['confirm']);

    switch (type) {
      case 'button':
        this.text(`${path}.text`, el['text'], { max: L.buttonText, plainOnly: true, required: true });
        this.maxLen(`${path}.value`, el['value'], L.buttonValue);
        this.maxLen(`${path}.url`, el['url'], L.url);
        this.maxLen(`${path}.accessibility_label`, el['accessibility_label'], L.buttonText);
        if (el['style'] !== undefined && el['style'] !== 'primary' && el['style'] !== 'danger') {
          this.add(`${path}.style`, `must be "primary" or "danger" (got ${JSON.stringify(el['style'])})`);
        }
        break;
      case 'static_select':
      case 'multi_static_select': {
        const hasGroups = el['option_groups'] !== undefined;
        if (hasGroups) {
          const groups = this.list(`${path}.option_groups`, el['option_groups']);
          if (groups) {
            this.maxItems(`${path}.option_groups`, groups, L.optionGroups, 'option groups');
            groups.forEach((g, i) => {
              const gp = `${path}.option_groups[${i}]`;
              if (!isObject(g)) {
                this.add(gp, 'must be an object');
                return;
              }
              this.text(`${gp}.label`, g['label'], { max: L.optionGroupLabel, plainOnly: true, required: true });
              this.options(`${gp}.options`, g['options'], L.selectOptions, true, true);
            });
          }
        } else {
          this.options(`${path}.options`, el['options'], L.selectOptions, true, true);
        }
        break;
      }
      case 'overflow':
        this.options(`${path}.options`, el['options'], L.overflowOptions, true, true);
        break;
      case 'radio_buttons':
      case 'checkboxes':
        this.options(`${path}.options`, el['options'], L.radioCheckboxOptions, false, true);
        break;
      case 'plain_text_input': {
        const maxLength = el['max_length'];
        if (typeof maxLength === 'number' && maxLength > L.plainTextInputMaxLength) {
          this.add(`${path}.max_length`, `${maxLength} > ${L.plainTextInputMaxLength}`);
        }
        break;
      }
      case 'image':
        this.maxLen(`${path}.image_url`, el['image_url'], L.url);
        if (typeof el['alt_text'] !== 'string' || el['alt_text'].length === 0) this.add(`${path}.alt_text`, 'required');
        else this.maxLen(`${path}.alt_text`, el['alt_text'], L.imageAltText);
        break;
      default:
        break;
    }
  }

  block(path: string, block: unknown): void {
    if (!isObject(block)) {
      this.add(path, 'must be an object');
      return;
    }
    const L = BLOCK_KIT_LIMITS;
    this.blockId(`${path}.block_id`, block['block_id']);
    const type = block['type'];
    if (typeof type !== 'string' || type.length === 0) {
      this.add(`${path}.type`, 'required');
      return;
    }
    switch (type) {
      case 'section': {
        const hasText = block['text'] !== undefined;
        const fields = this.list(`${path}.fields`, block['fields']);
        if (!hasText && !fields) this.add(path, 'section needs "text" or "fields"');
        this.text(`${path}.text`, block['text'], { max: L.sectionText });
        if (fields) {
          this.maxItems(`${path}.fields`, fields, L.sectionFields, 'fields');
          fields.forEach((f, i) => this.text(`${path}.fields[${i}]`, f, { max: L.sectionFieldText, required: true }));
        }
        if (block['accessory'] !== undefined) this.element(`${path}.accessory`, block['accessory']);
        break;
      }
      case 'header':
        this.text(`${path}.text`, block['text'], { max: L.headerText, plainOnly: true, required: true });
        break;
      case 'context': {
        const elements = this.list(`${path}.elements`, block['elements'], { required: true, min: 1 });
        if (!elements) break;
        this.maxItems(`${path}.elements`, elements, L.contextElements, 'elements');
        elements.forEach((e, i) => {
          const ep = `${path}.elements[${i}]`;
          if (isObject(e) && e['type'] === 'image') this.element(ep, e);
          else this.text(ep, e, { max: L.sectionText, required: true });
        });
        break;
      }
      case 'actions': {
        const elements = this.list(`${path}.elements`, block['elements'], { required: true, min: 1 });
        if (!elements) break;
        this.maxItems(`${path}.elements`, elements, L.actionsElements, 'elements');
        elements.forEach((e, i) => this.element(`${path}.elements[${i}]`, e));
        break;
      }
      case 'input':
        this.text(`${path}.label`, block['label'], { max: L.inputLabel, plainOnly: true, required: true });
        this.text(`${path}.hint`, block['hint'], { max: L.inputHint, plainOnly: true });
        if (block['element'] === undefined) this.add(`${path}.element`, 'required');
        else this.element(`${path}.element`, block['element']);
        break;
      case 'image':
        if (block['image_url'] === undefined && block['slack_file'] === undefined) {
          this.add(path, 'image needs "image_url" or "slack_file"');
        }
        this.maxLen(`${path}.image_url`, block['image_url'], L.url);
        if (typeof block['alt_text'] !== 'string' || block['alt_text'].length === 0) this.add(`${path}.alt_text`, 'required');
        else this.maxLen(`${path}.alt_text`, block['alt_text'], L.imageAltText);
        this.text(`${path}.title`, block['title'], { max: L.imageTitle, plainOnly: true });
        break;
      default:
        // divider, rich_text, file, video, markdown, table...: nothing we check beyond block_id.
        break;
    }
  }

  blocks(path: string, value: unknown, max: number, required = false): boolean {
    const list = this.list(path, value, { required });
    if (!list) return false;
    if (list.length > max) this.add(path, `${list.length} blocks > ${max}`);
    list.forEach((b, i) => this.block(`${path}[${i}]`, b));
    return list.some((b) => isObject(b) && b['type'] === 'input');
  }
}

function validateMessage(c: Checker, payload: JsonObject): void {
  const L = BLOCK_KIT_LIMITS;
  c.maxLen('text', payload['text'], L.messageText);
  c.blocks('blocks', payload['blocks'], L.messageBlocks);
  const attachments = c.list('attachments', payload['attachments']);
  attachments?.forEach((a, i) => {
    if (!isObject(a)) {
      c.add(`attachments[${i}]`, 'must be an object');
      return;
    }
    c.blocks(`attachments[${i}].blocks`, a['blocks'], L.messageBlocks);
  });
}

function validateView(c: Checker, surface: 'modal' | 'home', view: JsonObject): void {
  const L = BLOCK_KIT_LIMITS;
  if (view['type'] !== surface) c.add('type', `must be "${surface}" (got ${JSON.stringify(view['type'])})`);
  const hasInput = c.blocks('blocks', view['blocks'], L.viewBlocks, true);
  c.maxLen('private_metadata', view['private_metadata'], L.privateMetadata);
  c.maxLen('callback_id', view['callback_id'], L.callbackId);
  c.maxLen('external_id', view['external_id'], L.externalId);
  if (surface === 'modal') {
    c.text('title', view['title'], { max: L.viewTitle, plainOnly: true, required: true });
    c.text('submit', view['submit'], { max: L.viewSubmitClose, plainOnly: true });
    c.text('close', view['close'], { max: L.viewSubmitClose, plainOnly: true });
    if (hasInput && view['submit'] === undefined) c.add('submit', 'required when the view has input blocks');
  }
}

/**
 * Check a payload against Block Kit limits.
 * - `message`: the arguments of chat.postMessage / postEphemeral / update / a response_url body
 *   (`text`, `blocks`, `attachments[].blocks`).
 * - `modal` / `home`: the view object itself (`type`, `title`, `blocks`, `private_metadata`, ...).
 * action_id and block_id must be unique across the whole payload.
 */
export function validateBlockKit(kind: BlockKitSurface, payload: unknown): string[] {
  const c = new Checker();
  if (!isObject(payload)) {
    c.add('(root)', 'must be an object');
    return c.errors;
  }
  if (kind === 'message') validateMessage(c, payload);
  else validateView(c, kind, payload);
  return c.errors;
}
