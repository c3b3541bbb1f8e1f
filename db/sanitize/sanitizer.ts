// Failure sanitizer: turns whatever a handler threw or reported into a short, single-line, secret-free
// message plus a stable snake_case reason code, safe to store, broadcast over Socket.IO and show to users.
//
// Pipeline for messages (order matters):
//   text → cap to 8 KB → strip control/invisible chars → SECRET_RULES → key/value pairs → BARE_AUTH_RULES
//   → drop stack lines, keep first line → PATH_RULES → GENERIC_RULES → collapse whitespace
//   → truncate (after redaction, so no secret prefix leaks).
// What a secret looks like is in db/sanitize/rules.ts; this file applies those rules and bounds the work.
import {
  BARE_AUTH_RULES,
  BENIGN_KEY_SUFFIXES,
  BENIGN_VALUES,
  GENERIC_RULES,
  KEY_SEPARATOR,
  KEY_VALUE,
  PATH_RULES,
  QUERY_ONLY_KEYS,
  REDACTED,
  SECRET_RULES,
  SENSITIVE_KEY_PARTS,
  SENSITIVE_KEY_SUBSTRING,
  SPACE_SEPARATED_KEYS,
  TO_END_OF_LINE,
  type Rule,
} from './rules.ts';

export const MAX_MESSAGE_LENGTH = 240;
export const MAX_ITEM_LENGTH = 200;
export const MAX_CODE_LENGTH = 64;

export type SanitizedFailure = { code: string; message: string; item?: string };

const MAX_INPUT_CHARS = 8 * 1024;
const ELLIPSIS = '…';
const DEFAULT_MESSAGE = 'Unknown error';
const DEFAULT_CODE = 'unknown_error';
const DEFAULT_ERROR_CODE = 'handler_error';

// ---------------------------------------------------------------------------------------------------
// The key=value scanner: KEY_SEPARATOR finds a candidate key, the key tables decide, KEY_VALUE takes the value.
// ---------------------------------------------------------------------------------------------------

function keyParts(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2') // camelCase → camel_Case
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2') // APIKey → API_Key
    .toLowerCase()
    .split(/[_.-]+/)
    .filter((part) => part !== '');
}

function isSensitiveKey(key: string, inQueryString: boolean): boolean {
  const parts = keyParts(key);
  const last = parts[parts.length - 1];
  if (last === undefined) return false;
  if (parts.length > 1 && BENIGN_KEY_SUFFIXES.has(last)) return false;
  if (SENSITIVE_KEY_SUBSTRING.test(parts.join('_'))) return true;
  if (parts.some((part) => SENSITIVE_KEY_PARTS.has(part))) return true;
  // "pass" only in compounds like smtp_pass / db_pass ("pass=3 fail=1" is a test summary).
  if (parts.length > 1 && parts.includes('pass')) return true;
  return inQueryString && parts.length === 1 && QUERY_ONLY_KEYS.has(last);
}

function redactValue(value: string, keyIsCookie: boolean, text: string, valueStart: number): { replacement: string; end: number } | null {
  if (value.startsWith('[redacted') || value.startsWith('[path]')) return null;
  const quote = value.startsWith('\\"') ? '\\"' : value.startsWith('"') || value.startsWith("'") ? value.charAt(0) : '';
  if (quote !== '') return { replacement: `${quote}${REDACTED}${quote}`, end: valueStart + value.length };
  if (keyIsCookie) {
    TO_END_OF_LINE.lastIndex = valueStart;
    const rest = TO_END_OF_LINE.exec(text);
    return { replacement: REDACTED, end: valueStart + (rest ? rest[0].length : value.length) };
  }
  // Keep trailing sentence punctuation outside the redaction: "password=x, user=bob".
  const trailing = /[.,;:!?)\]}]+$/.exec(value)?.[0] ?? '';
  const core = value.slice(0, value.length - trailing.length);
  if (core === '' || BENIGN_VALUES.has(core.toLowerCase())) return null;
  return { replacement: REDACTED + trailing, end: valueStart + value.length };
}

function redactKeyValues(text: string): string {
  let out = '';
  let copied = 0;
  KEY_SEPARATOR.lastIndex = 0;
  for (let match = KEY_SEPARATOR.exec(text); match !== null; match = KEY_SEPARATOR.exec(text)) {
    const key = match[2] ?? '';
    const separator = match[3] ?? '';
    const before = match.index > 0 ? text.charAt(match.index - 1) : '';
    const spaceOnly = !/[:=]/.test(separator);
    if (spaceOnly && !SPACE_SEPARATED_KEYS.has(key.toLowerCase())) continue;
    if (!isSensitiveKey(key, before === '?' || before === '&')) continue;

    const valueStart = match.index + match[0].length;
    KEY_VALUE.lastIndex = valueStart;
    const valueMatch = KEY_VALUE.exec(text);
    const scheme = valueMatch?.[1];
    const value = valueMatch?.[2];
    if (valueMatch === null || value === undefined) continue;
    const schemePrefix = scheme === undefined ? '' : valueMatch[0].slice(0, valueMatch[0].length - value.length);
    const isCookieHeader = /^(?:set-)?cookie$/i.test(key) && match[1] === '' && separator.includes(':');
    const redacted = redactValue(value, isCookieHeader, text, valueStart + schemePrefix.length);
    if (redacted === null) continue;

    out += text.slice(copied, valueStart) + schemePrefix + redacted.replacement;
    copied = redacted.end;
    KEY_SEPARATOR.lastIndex = copied;
  }
  return out + text.slice(copied);
}

// ---------------------------------------------------------------------------------------------------
// Plumbing.
// ---------------------------------------------------------------------------------------------------

function applyRules(text: string, rules: readonly Rule[]): string {
  let out = text;
  for (const rule of rules) {
    out = typeof rule.replace === 'string' ? out.replace(rule.pattern, rule.replace) : out.replace(rule.pattern, rule.replace);
  }
  return out;
}

/** All secret rules in order: specific shapes, key/value pairs, bare auth schemes. */
function redactSecrets(text: string): string {
  return applyRules(redactKeyValues(applyRules(text, SECRET_RULES)), BARE_AUTH_RULES);
}

function errorLikeMessage(value: object): string | undefined {
  const message = (value as { message?: unknown }).message;
  if (typeof message === 'string') return message !== '' || !(value instanceof Error) ? message : value.name;
  return undefined;
}

/**
 * Plain objects → JSON, so "password":"…" pairs stay recognisable. String leaves are cleaned and redacted
 * before encoding: JSON escaping (\\", \\u0000, \\n) would otherwise hide secrets from the rules.
 */
function jsonText(value: object): string | undefined {
  let budget = 500; // nodes: a huge object must not make sanitizing expensive
  return JSON.stringify(value, (_key, v: unknown) => {
    if (--budget < 0) return undefined;
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'string') return redactSecrets(stripInvisible(capInput(v)));
    return v;
  });
}

/** Any value → raw text; never throws (getters, proxies and toJSON may). Errors contribute only .message. */
function toText(input: unknown): string {
  try {
    if (typeof input === 'string') return input;
    if (input === undefined || input === null) return '';
    if (typeof input === 'symbol') return input.description ?? '';
    if (typeof input === 'function') return '[function]'; // String(fn) would be its source code
    if (typeof input !== 'object') return String(input); // number, boolean, bigint
    return errorLikeMessage(input) ?? jsonText(input) ?? Object.prototype.toString.call(input);
  } catch {
    return '[unprintable value]';
  }
}

/** Bound the work: keep the first 8 KB and drop a token cut in half (it could be a partial secret). */
function capInput(text: string): string {
  if (text.length <= MAX_INPUT_CHARS) return text;
  let end = MAX_INPUT_CHARS;
  while (end > 0 && !/\s/.test(text.charAt(end - 1))) end--;
  return end > 0 ? text.slice(0, end) : text.slice(0, MAX_INPUT_CHARS);
}

// ANSI colour/cursor sequences, then C0/C1 controls (except tab/newline/CR), zero-width and bidi
// characters (used to hide or split secrets), and lone surrogates.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const ANSI_ESCAPE = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const INVISIBLE = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function stripInvisible(text: string): string {
  return text.replace(ANSI_ESCAPE, '').replace(INVISIBLE, '').replace(LONE_SURROGATE, '');
}

// Stack frames: V8/Java ("at fn (file:1:2)", "at file:1:2", "at async Promise.all (index 0)"),
// Firefox/Safari ("fn@file:1:2"), Python ("Traceback …", 'File "x.py", line 3'), "... 4 more".
const STACK_FRAME_LINES: readonly RegExp[] = [
  /^\s*at\s+(?:async\s+)?(?:new\s+)?[^\s(]+(?:\s+\[as\s+[^\]\s]+\])?\s*\((?:[^()\n]*:\d+(?::\d+)?|native|<anonymous>|unknown location|index \d+|eval at [^\n]*)\)\s*$/,
  /^\s*at\s+(?:async\s+)?(?:[^\s()]+:\d+(?::\d+)?|<anonymous>|native)\s*$/,
  /^\s*[^\s@]*@\S+:\d+:\d+\s*$/,
  /^\s*Traceback \(most recent call last\):\s*$/,
  /^\s*File "[^"\n]*", line \d+/,
  /^\s*\.\.\. \d+ more\s*$/,
];

/** Drop stack-frame lines, then keep the first non-empty line. */
function firstMessageLine(text: string): string {
  for (const line of text.split(/\r\n|[\n\r\u2028\u2029]/)) {
    if (line.trim() === '') continue;
    if (STACK_FRAME_LINES.some((frame) => frame.test(line))) continue;
    return line;
  }
  return '';
}

function collapseWhitespace(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Cut to `max` chars including the ellipsis; never inside a marker or a surrogate pair. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max - ELLIPSIS.length;
  const lastCode = text.charCodeAt(cut - 1);
  if (lastCode >= 0xd800 && lastCode <= 0xdbff) cut--;
  let head = text.slice(0, cut);
  const open = head.lastIndexOf('[');
  if (open !== -1 && !head.includes(']', open) && /^\[(?:redacted|path)/.test(text.slice(open, open + 10))) {
    head = head.slice(0, open);
  }
  const space = head.lastIndexOf(' ');
  if (space > 0 && space >= head.length - 24) head = head.slice(0, space);
  return head.trimEnd() + ELLIPSIS;
}

// ---------------------------------------------------------------------------------------------------
// Public API.
// ---------------------------------------------------------------------------------------------------

/** Any value (string, Error, object, undefined) → safe single-line message of at most 240 chars ('' if empty). */
export function sanitizeMessage(input: unknown): string {
  const text = redactSecrets(stripInvisible(capInput(toText(input))));
  const line = applyRules(applyRules(firstMessageLine(text), PATH_RULES), GENERIC_RULES);
  return truncate(collapseWhitespace(line), MAX_MESSAGE_LENGTH);
}

function normalizeCode(input: unknown): string {
  if (typeof input !== 'string' && typeof input !== 'number' && typeof input !== 'bigint') return '';
  const raw = String(input).slice(0, 256);
  // A code that is itself a secret (someone passed a token as the reason) is not a code.
  if (applyRules(redactSecrets(raw), GENERIC_RULES) !== raw) return '';
  const code = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '') // café → cafe
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2') // itemFailed → item_Failed
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2') // HTTPError → HTTP_Error
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^[^a-z]+/, '') // must start with a letter: "123abc" → "abc"
    .slice(0, MAX_CODE_LENGTH)
    .replace(/_+$/, '');
  return code;
}

/** Stable snake_case reason code ([a-z][a-z0-9_]*, ≤ 64 chars); `fallback` when nothing valid remains. */
export function sanitizeCode(input: unknown, fallback = DEFAULT_CODE): string {
  return normalizeCode(input) || normalizeCode(fallback) || DEFAULT_CODE;
}

/** Optional item id: undefined/null → undefined; otherwise single-line, secret-free, ≤ 200 chars. */
export function sanitizeItem(input: unknown): string | undefined {
  if (input === undefined || input === null) return undefined;
  let text: string;
  try {
    text = typeof input === 'object' || typeof input === 'function' ? toText(input) : String(input);
  } catch {
    return undefined;
  }
  const clean = collapseWhitespace(applyRules(redactSecrets(stripInvisible(capInput(text))), GENERIC_RULES));
  return clean === '' ? undefined : truncate(clean, MAX_ITEM_LENGTH);
}

export function sanitizeFailure(input: { code?: unknown; message?: unknown; item?: unknown }): SanitizedFailure {
  const failure: SanitizedFailure = {
    code: sanitizeCode(input.code),
    message: sanitizeMessage(input.message) || DEFAULT_MESSAGE,
  };
  const item = sanitizeItem(input.item);
  if (item !== undefined) failure.item = item;
  return failure;
}

function readCode(error: unknown): unknown {
  try {
    return typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  } catch {
    return undefined;
  }
}

/** From a thrown value: code from a string `error.code` (else fallbackCode), message from its message. */
export function sanitizeError(error: unknown, fallbackCode = DEFAULT_ERROR_CODE): SanitizedFailure {
  const fallback = sanitizeCode(fallbackCode, DEFAULT_ERROR_CODE);
  const code = readCode(error);
  return {
    code: typeof code === 'string' ? sanitizeCode(code, fallback) : fallback,
    message: sanitizeMessage(error) || DEFAULT_MESSAGE,
  };
}
