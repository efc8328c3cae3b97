/**
 * Block Kit validation for the Slack stand-in: the basics a message surface
 * enforces, with Slack's `invalid_blocks` message style
 * ("[ERROR] <reason> [json-pointer:/blocks/0/text]").
 *
 * Limits follow Slack's block reference (https://docs.slack.dev/reference/block-kit/blocks)
 * as encoded in slackapi/python-slack-sdk (slack_sdk/models/blocks/blocks.py,
 * basic_components.py, block_elements.py; fetched 2026-08): at most 50 blocks
 * per message; block_id ≤ 255 and unique; section text ≤ 3000, fields ≤ 10 × 2000,
 * text or fields required; header text plain_text ≤ 150; context elements
 * 1–10; actions elements 1–25; image alt_text ≤ 2000, image_url ≤ 3000, title
 * plain_text ≤ 2000; markdown text ≤ 12000; text objects are `plain_text`
 * (with `emoji`) or `mrkdwn` (with `verbatim`) and at least 1 character;
 * button text plain_text ≤ 75, action_id ≤ 255, value ≤ 2000, url ≤ 3000,
 * style primary|danger. Block types the stand-in does not model in depth
 * (video, file, input, table, rich_text internals) are checked for shape only.
 */
import { isRecord } from './harness.ts';

const BLOCK_TYPES = new Set(['section', 'divider', 'image', 'actions', 'context', 'header', 'rich_text', 'markdown', 'video', 'file', 'input', 'table']);
const SHALLOW_ELEMENTS = new Set(['checkboxes', 'datepicker', 'datetimepicker', 'timepicker', 'overflow', 'radio_buttons', 'static_select', 'external_select', 'users_select', 'conversations_select', 'channels_select', 'multi_static_select', 'multi_external_select', 'multi_users_select', 'multi_conversations_select', 'multi_channels_select', 'plain_text_input', 'email_text_input', 'url_text_input', 'number_input', 'workflow_button', 'rich_text_input']);
const RICH_TEXT_ELEMENTS = new Set(['rich_text_section', 'rich_text_list', 'rich_text_preformatted', 'rich_text_quote']);
export const MAX_BLOCKS = 50;

type Errors = string[];

function err(errors: Errors, reason: string, pointer: string): void {
  errors.push(`[ERROR] ${reason} [json-pointer:${pointer}]`);
}

function onlyKeys(errors: Errors, o: Record<string, unknown>, allowed: readonly string[], pointer: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) err(errors, `unsupported field: ${k}`, `${pointer}/${k}`);
}

function chars(s: string): number {
  return [...s].length;
}

/** A text composition object. */
function textObject(errors: Errors, v: unknown, pointer: string, max: number, plainOnly = false): void {
  if (!isRecord(v)) return err(errors, 'must be a text object', pointer);
  if (v.type === 'plain_text') onlyKeys(errors, v, ['type', 'text', 'emoji'], pointer);
  else if (v.type === 'mrkdwn' && !plainOnly) onlyKeys(errors, v, ['type', 'text', 'verbatim'], pointer);
  else return err(errors, plainOnly ? 'must be a plain_text object' : 'must be one of the provided values (plain_text, mrkdwn)', `${pointer}/type`);
  if (typeof v.text !== 'string' || v.text.length === 0) return err(errors, 'must be at least 1 character', `${pointer}/text`);
  if (chars(v.text) > max) err(errors, `must be less than ${max + 1} characters`, `${pointer}/text`);
  if (v.emoji !== undefined && typeof v.emoji !== 'boolean') err(errors, 'must be a boolean', `${pointer}/emoji`);
  if (v.verbatim !== undefined && typeof v.verbatim !== 'boolean') err(errors, 'must be a boolean', `${pointer}/verbatim`);
}

function maxString(errors: Errors, v: unknown, pointer: string, max: number, required = false): void {
  if (v === undefined) {
    if (required) err(errors, 'missing required field', pointer);
    return;
  }
  if (typeof v !== 'string' || v.length === 0) return err(errors, 'must be a non-empty string', pointer);
  if (chars(v) > max) err(errors, `must be less than ${max + 1} characters`, pointer);
}

function imageElement(errors: Errors, v: Record<string, unknown>, pointer: string): void {
  onlyKeys(errors, v, ['type', 'image_url', 'slack_file', 'alt_text'], pointer);
  if (v.image_url === undefined && v.slack_file === undefined) err(errors, 'must provide image_url or slack_file', pointer);
  maxString(errors, v.image_url, `${pointer}/image_url`, 3000);
  maxString(errors, v.alt_text, `${pointer}/alt_text`, 2000, true);
}

function element(errors: Errors, v: unknown, pointer: string): void {
  if (!isRecord(v) || typeof v.type !== 'string') return err(errors, 'must be a block element', pointer);
  if (v.type === 'button') {
    onlyKeys(errors, v, ['type', 'text', 'action_id', 'url', 'value', 'style', 'confirm', 'accessibility_label'], pointer);
    textObject(errors, v.text, `${pointer}/text`, 75, true);
    maxString(errors, v.action_id, `${pointer}/action_id`, 255);
    maxString(errors, v.url, `${pointer}/url`, 3000);
    maxString(errors, v.value, `${pointer}/value`, 2000);
    if (v.style !== undefined && v.style !== 'primary' && v.style !== 'danger') err(errors, 'must be one of the provided values (primary, danger)', `${pointer}/style`);
    return;
  }
  if (v.type === 'image') return imageElement(errors, v, pointer);
  if (!SHALLOW_ELEMENTS.has(v.type)) return err(errors, 'must be one of the provided values', `${pointer}/type`);
  maxString(errors, v.action_id, `${pointer}/action_id`, 255);
}

function elementList(errors: Errors, v: unknown, pointer: string, max: number, each: (item: unknown, p: string) => void): void {
  if (!Array.isArray(v) || v.length === 0) return err(errors, 'must provide at least 1 item', pointer);
  if (v.length > max) err(errors, `no more than ${max} items allowed`, pointer);
  v.forEach((item, i) => each(item, `${pointer}/${i}`));
}

function block(errors: Errors, b: unknown, pointer: string, ids: Set<string>): void {
  if (!isRecord(b)) return err(errors, 'must be an object', pointer);
  if (typeof b.type !== 'string' || !BLOCK_TYPES.has(b.type)) return err(errors, 'must be one of the provided values', `${pointer}/type`);
  if (b.block_id !== undefined) {
    maxString(errors, b.block_id, `${pointer}/block_id`, 255);
    if (typeof b.block_id === 'string') {
      if (ids.has(b.block_id)) err(errors, 'duplicate block_id', `${pointer}/block_id`);
      ids.add(b.block_id);
    }
  }
  switch (b.type) {
    case 'section':
      onlyKeys(errors, b, ['type', 'block_id', 'text', 'fields', 'accessory', 'expand'], pointer);
      if (b.text === undefined && b.fields === undefined) err(errors, 'must provide text or fields', pointer);
      if (b.text !== undefined) textObject(errors, b.text, `${pointer}/text`, 3000);
      if (b.fields !== undefined) elementList(errors, b.fields, `${pointer}/fields`, 10, (f, p) => textObject(errors, f, p, 2000));
      if (b.accessory !== undefined) element(errors, b.accessory, `${pointer}/accessory`);
      return;
    case 'divider':
      return onlyKeys(errors, b, ['type', 'block_id'], pointer);
    case 'header':
      onlyKeys(errors, b, ['type', 'block_id', 'text'], pointer);
      return textObject(errors, b.text, `${pointer}/text`, 150, true);
    case 'context':
      onlyKeys(errors, b, ['type', 'block_id', 'elements'], pointer);
      return elementList(errors, b.elements, `${pointer}/elements`, 10, (e, p) => {
        if (isRecord(e) && e.type === 'image') imageElement(errors, e, p);
        else textObject(errors, e, p, 3000);
      });
    case 'actions':
      onlyKeys(errors, b, ['type', 'block_id', 'elements'], pointer);
      return elementList(errors, b.elements, `${pointer}/elements`, 25, (e, p) => element(errors, e, p));
    case 'image':
      onlyKeys(errors, b, ['type', 'block_id', 'image_url', 'slack_file', 'alt_text', 'title'], pointer);
      if (b.image_url === undefined && b.slack_file === undefined) err(errors, 'must provide image_url or slack_file', pointer);
      maxString(errors, b.image_url, `${pointer}/image_url`, 3000);
      maxString(errors, b.alt_text, `${pointer}/alt_text`, 2000, true);
      if (b.title !== undefined) textObject(errors, b.title, `${pointer}/title`, 2000, true);
      return;
    case 'markdown':
      onlyKeys(errors, b, ['type', 'block_id', 'text'], pointer);
      return maxString(errors, b.text, `${pointer}/text`, 12000, true);
    case 'rich_text':
      onlyKeys(errors, b, ['type', 'block_id', 'elements'], pointer);
      return elementList(errors, b.elements, `${pointer}/elements`, 100, (e, p) => {
        if (!isRecord(e) || typeof e.type !== 'string' || !RICH_TEXT_ELEMENTS.has(e.type)) err(errors, 'must be one of the provided values', `${p}/type`);
        else if (!Array.isArray(e.elements)) err(errors, 'missing required field', `${p}/elements`);
      });
    default:
      return;
  }
}

/**
 * Validates a message's `blocks` value; returns Slack-style error messages
 * (empty when valid).
 */
export function validateBlocks(blocks: unknown): string[] {
  const errors: Errors = [];
  if (!Array.isArray(blocks)) {
    err(errors, 'must be an array', '/blocks');
    return errors;
  }
  if (blocks.length > MAX_BLOCKS) err(errors, `no more than ${MAX_BLOCKS} items allowed`, '/blocks');
  const ids = new Set<string>();
  blocks.forEach((b, i) => block(errors, b, `/blocks/${i}`, ids));
  return errors;
}
