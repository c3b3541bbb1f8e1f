// Failure sanitizer: turns whatever a handler threw or reported into a short, single-line, secret-free
// message plus a stable snake_case reason code, safe to store, broadcast over Socket.IO and show to users.
//
// Pipeline for messages (order matters):
//   text → cap to 8 KB → strip control/invisible chars → SECRET_RULES → drop stack lines, keep first line
//   → PATH_RULES → GENERIC_RULES → collapse whitespace → truncate (after redaction, so no secret prefix leaks).
// Every regex is linear-time on its own (no nested ambiguous quantifiers) and the input cap bounds the rest.

export const MAX_MESSAGE_LENGTH = 240;
export const MAX_ITEM_LENGTH = 200;
export const MAX_CODE_LENGTH = 64;

export type SanitizedFailure = { code: string; message: string; item?: string };

const MAX_INPUT_CHARS = 8 * 1024;
const ELLIPSIS = '…';
const REDACTED = '[redacted]';
const DEFAULT_MESSAGE = 'Unknown error';
const DEFAULT_CODE = 'unknown_error';
const DEFAULT_ERROR_CODE = 'handler_error';

type Replacer = (match: string, ...groups: string[]) => string;

interface Rule {
  /** Short name, used in comments/tests and when debugging which rule fired. */
  readonly name: string;
  /** Always global; applied with String.prototype.replace. */
  readonly pattern: RegExp;
  readonly replace: string | Replacer;
}

// ---------------------------------------------------------------------------------------------------
// Shape-specific secrets. Applied to the whole (capped) text, before line selection, so multi-line
// material such as PEM blocks is recognised as a unit.
// ---------------------------------------------------------------------------------------------------

const SECRET_RULES: readonly Rule[] = [
  {
    // PEM private keys (RSA/EC/OPENSSH/ENCRYPTED/PGP); a block cut before its END swallows the rest.
    name: 'pem_private_key',
    pattern:
      /-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY[A-Z ]{0,10}-----[\s\S]*?(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY[A-Z ]{0,10}-----|$)/g,
    replace: '[redacted:private_key]',
  },
  {
    // OpenSSH public/private key bodies ("ssh-rsa AAAA…"): keep the algorithm, drop the blob.
    name: 'ssh_key',
    pattern:
      /\b(ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp(?:256|384|521)|sk-ssh-ed25519@openssh\.com)[ \t]+AAAA[A-Za-z0-9+/]+={0,3}/g,
    replace: '$1 [redacted:ssh_key]',
  },
  {
    // Userinfo in URLs / connection strings (postgres://u:p@h, redis://:p@h, https://u:p@h): keep scheme + host.
    // Greedy up to the last "@" of the authority so passwords containing "@" are covered too.
    name: 'url_credentials',
    pattern: /\b([a-z][a-z0-9+.-]{1,30}:\/\/)[^\s/"'<>]+@/gi,
    replace: `$1${REDACTED}@`,
  },
  {
    // Chat webhooks carry their secret in the path.
    name: 'webhook_url',
    pattern: /\b(hooks\.slack\.com\/(?:services|workflows|triggers)\/|discord(?:app)?\.com\/api\/webhooks\/)[^\s"'<>]+/gi,
    replace: `$1${REDACTED}`,
  },
  {
    // JWT / JWS / JWE (base64url JSON header "eyJ…"), also when cut after the first segment.
    name: 'jwt',
    pattern: /\beyJ[A-Za-z0-9_-]{10,}(?:\.[A-Za-z0-9_-]*){0,4}/g,
    replace: '[redacted:jwt]',
  },
  {
    // AWS access key ids (long-term AKIA…, temporary ASIA…, and the other documented prefixes).
    name: 'aws_access_key_id',
    pattern: /\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA)[A-Z0-9]{16}\b/g,
    replace: '[redacted:aws_key]',
  },
  {
    // AWS secret access keys: 40 base64-ish chars after the well-known key name (any casing/quoting).
    name: 'aws_secret_access_key',
    pattern: /\b(aws_?secret_?(?:access_?)?key["']?[ \t]*[:=][ \t]*["']?)[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])/gi,
    replace: `$1${REDACTED}`,
  },
  {
    // Stripe secret / restricted / publishable keys and webhook signing secrets.
    name: 'stripe_key',
    pattern: /\b(?:(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9+/=]{16,})/g,
    replace: '[redacted:stripe_key]',
  },
  {
    // GitHub classic/OAuth/app/refresh tokens and fine-grained PATs.
    name: 'github_token',
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g,
    replace: '[redacted:github_token]',
  },
  {
    // GitLab personal access tokens.
    name: 'gitlab_token',
    pattern: /\bglpat-[A-Za-z0-9_-]{20,}/g,
    replace: '[redacted:gitlab_token]',
  },
  {
    // Slack bot/user/app/refresh tokens.
    name: 'slack_token',
    pattern: /\bxox[abposre]-[A-Za-z0-9-]{10,}/g,
    replace: '[redacted:slack_token]',
  },
  {
    // Google API keys, OAuth access tokens and OAuth client secrets.
    name: 'google_key',
    pattern: /\b(?:AIza[0-9A-Za-z_-]{30,}|ya29\.[0-9A-Za-z_-]{20,}|GOCSPX-[0-9A-Za-z_-]{20,})/g,
    replace: '[redacted:google_key]',
  },
  {
    // npm automation/publish tokens.
    name: 'npm_token',
    pattern: /\bnpm_[A-Za-z0-9]{30,}/g,
    replace: '[redacted:npm_token]',
  },
  {
    // OpenAI / Anthropic style "sk-…" keys (sk-proj-…, sk-ant-api03-…).
    name: 'sk_api_key',
    pattern: /\bsk-[A-Za-z0-9_-]{20,}/g,
    replace: '[redacted:api_key]',
  },
  {
    // SendGrid keys: SG.<id>.<secret> — segments are too short for the generic rules.
    name: 'sendgrid_key',
    pattern: /\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/g,
    replace: '[redacted:api_key]',
  },
  {
    // Discord bot tokens: <base64 id>.<6>.<27+> — also too short per segment for the generic rules.
    name: 'discord_token',
    pattern: /\b[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}/g,
    replace: '[redacted:token]',
  },
  {
    // Twilio API key sids (SK + 32 hex): the hex rule skips them because "SK" glues onto the run.
    name: 'twilio_key',
    pattern: /\bSK[0-9a-fA-F]{32}\b/g,
    replace: '[redacted:api_key]',
  },
];

// ---------------------------------------------------------------------------------------------------
// key=value / key: value / "key":"value" secrets (also query strings, headers, env dumps, JSON, and
// JSON-in-JSON). Implemented as a scanner: the key regex finds candidate keys, and only keys judged
// sensitive consume their value — so a non-sensitive pair (url=https://x?token=…) is still scanned inside.
// ---------------------------------------------------------------------------------------------------

// Optional quote (or JSON-escaped quote) around the key; the separator is =, :, => or (for a few keys)
// whitespace followed by a quoted value, as in SQL "PASSWORD 'x'".
const KEY_SEPARATOR = /(?<![\w\\])(\\?["']|)([A-Za-z_][\w.-]{0,63})\1([ \t]*(?:=>|[:=])[ \t]*|[ \t]+(?=\\?["']))/g;

// The value: an optional auth scheme, then a JSON-escaped, double- or single-quoted string (an unterminated
// quote runs to the end of the line), or an unquoted run up to whitespace, a quote, or "&next=" / ";Next="
// (query strings, connection strings).
const KEY_VALUE = new RegExp(
  [
    '(?:(bearer|basic|digest|token|bot|negotiate|ntlm|aws4-hmac-sha256)[ \\t]+(?=[^\\s"\'\\\\]))?',
    '(',
    '\\\\"(?:[^"\\\\\\n]|\\\\(?!")[^\\n]?)*(?:\\\\")?', // \"…\" inside an already JSON-encoded string
    '|"(?:[^"\\\\\\n]|\\\\[^\\n]?)*"?',
    "|'(?:[^'\\\\\\n]|\\\\[^\\n]?)*'?",
    '|(?:[^\\s"\'<>&;\\\\]|\\\\(?!")|[&;](?![\\w .-]{1,64}=))+',
    ')',
  ].join(''),
  'iy',
);

// Whole-header values: a Cookie header lists several secrets separated by "; ".
const TO_END_OF_LINE = /[^\n"'<>]+/y;

// Any key containing one of these is sensitive (after lowercasing and normalising - and . to _).
const SENSITIVE_KEY_SUBSTRING =
  /password|passwd|passphrase|secret|token(?!s|iz|is|ed)|api_?key|private_?key|access_?key|account_?key|signing_?key|credential|authorization|cookie|signature/;
// Short words are only sensitive as whole components (so "author" or "passed" are not).
const SENSITIVE_KEY_PARTS = new Set(['auth', 'pwd', 'pw', 'session', 'sessionid', 'sessid', 'sid', 'sig', 'jwt', 'otp', 'creds', 'bearer']);
// In query strings these bare names carry secrets (?key=AIza…, OAuth ?code=…).
const QUERY_ONLY_KEYS = new Set(['key', 'code', 'k', 'hash']);
// Metadata about a secret is not the secret: token_type, password_policy, session_count, auth_url…
const BENIGN_KEY_SUFFIXES = new Set([
  'type', 'count', 'length', 'len', 'ttl', 'expiry', 'expires', 'exp', 'expiration', 'at', 'name', 'names', 'url',
  'uri', 'endpoint', 'header', 'provider', 'method', 'methods', 'kind', 'scheme', 'format', 'version', 'limit',
  'size', 'hint', 'policy', 'file', 'path', 'required', 'enabled', 'present', 'missing', 'valid', 'status', 'rate',
  'age', 'timeout', 'mode', 'strategy', 'algorithm', 'alg', 'issuer', 'audience', 'scope', 'scopes', 'field',
]);
// Keys that may be separated from a quoted value by whitespace alone (SQL: ALTER USER x PASSWORD 'y').
const SPACE_SEPARATED_KEYS = new Set(['password', 'passwd', 'passphrase', 'pwd', 'secret']);
// Unquoted values that are prose, not secrets: "invalid token: jwt expired", "password=null".
const BENIGN_VALUES = new Set([
  'a', 'an', 'the', 'is', 'was', 'are', 'not', 'no', 'yes', 'none', 'null', 'nil', 'undefined', 'empty', 'true',
  'false', 'ok', 'missing', 'required', 'invalid', 'expired', 'revoked', 'rejected', 'denied', 'malformed', 'mismatch',
  'incorrect', 'wrong', 'unknown', 'unset', 'set', 'present', 'absent', 'provided', 'expected', 'failed', 'error',
  'must', 'should', 'cannot', 'could', 'does', 'did', 'has', 'have', 'too', 'jwt', 'for', 'of', 'to', 'in', 'on',
  'with', 'without', 'and', 'or', 'reset', 'changed', 'updated', 'verification', 'validation', 'exceeded',
]);

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
// Bare auth schemes and generic high-entropy runs.
// ---------------------------------------------------------------------------------------------------

/** True for strings that look machine-generated rather than like a word ("bearer authentication"). */
function looksLikeCredential(token: string): boolean {
  const t = token.replace(/\.+$/, '');
  if (t.length >= 24) return true;
  return t.length >= 8 && (/\d/.test(t) || /[A-Z]/.test(t.slice(1)) || /[-_~+/=.]/.test(t));
}

function looksLikeBasicCredentials(token: string): boolean {
  const decoded = Buffer.from(token, 'base64').toString('latin1');
  return /^[\x20-\x7e]+:[\x20-\x7e]*$/.test(decoded) || looksLikeCredential(token);
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

// Word-ish tokens of an identifier: Capitalised/lowercase words, ALLCAPS runs, digit runs.
const IDENTIFIER_TOKEN = /[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+/g;

const isDigit = (ch: string): boolean => ch >= '0' && ch <= '9';
const isLower = (ch: string): boolean => ch >= 'a' && ch <= 'z';
const isUpper = (ch: string): boolean => ch >= 'A' && ch <= 'Z';

/**
 * Random-looking = mixed character classes and a randomness score ≥ 0.45, where the score adds up
 *   - the share of letters outside pronounceable word tokens ("Renderer" is a word, "Plfj"/"hNLcm" are not),
 *   - letter↔digit adjacencies per char (identifiers separate numbers: "v2_2024", random glues them: "k8s9d7"),
 *   - 2 × odd case switches per char (lower→upper not starting a camel word: "aBC", "xY9").
 * Calibrated on random base64/base64url/alnum (≈99.9% caught), base36/base32 (≈95%/92%) and real
 * identifiers, routes, pod names and paths (scores ≤ 0.35).
 */
function isRandomLooking(s: string): boolean {
  const classes = Number(/[a-z]/.test(s)) + Number(/[A-Z]/.test(s)) + Number(/[0-9]/.test(s));
  if (classes < 2) return false;
  let letters = 0;
  let wordLetters = 0;
  for (const [token] of s.matchAll(IDENTIFIER_TOKEN)) {
    if (isDigit(token.charAt(0))) continue;
    letters += token.length;
    if (token.length >= 3 && /[aeiouy]/i.test(token) && !/[^aeiouy]{5}/i.test(token)) wordLetters += token.length;
  }
  let alnum = 0;
  let glued = 0;
  let oddCase = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charAt(i);
    const prev = s.charAt(i - 1);
    if (isDigit(ch) || isLower(ch) || isUpper(ch)) alnum++;
    if ((isDigit(prev) && (isLower(ch) || isUpper(ch))) || (isDigit(ch) && (isLower(prev) || isUpper(prev)))) glued++;
    if (isLower(prev) && isUpper(ch) && !isLower(s.charAt(i + 1))) oddCase++;
  }
  const nonWord = letters === 0 ? 0 : 1 - wordLetters / letters;
  return nonWord + (glued + 2 * oddCase) / Math.max(alnum, 1) >= 0.45;
}

/** A long base64/base64url/path-like run is a secret if some UUID-free 32+ char piece of it looks random. */
function isSecretRun(run: string): boolean {
  return run.split(UUID).some((piece) => piece.length >= 32 && isRandomLooking(piece));
}

const BARE_AUTH_RULES: readonly Rule[] = [
  {
    // "bearer xxx" outside a header (the key/value scanner already handled "Authorization: Bearer xxx").
    name: 'bearer_token',
    pattern: /\b(bearer)[ \t]+(?!\[redacted)([A-Za-z0-9\-._~+/]+=*)(?![\w=])/gi,
    replace: (match, scheme, token) => (looksLikeCredential(token) ? `${scheme} ${REDACTED}` : match),
  },
  {
    // "Basic dXNlcjpwYXNz" outside a header; decoded "user:pass" or credential-looking blobs only.
    name: 'basic_auth',
    pattern: /\b(basic)[ \t]+([A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])/gi,
    replace: (match, scheme, token) => (looksLikeBasicCredentials(token) ? `${scheme} ${REDACTED}` : match),
  },
];

const GENERIC_RULES: readonly Rule[] = [
  {
    // Long hex (API keys, HMACs, session ids, digests) mixing digits and letters, as random hex always
    // does; hyphenated UUIDs never form a 32-hex run.
    name: 'long_hex',
    pattern: /(?<![A-Za-z0-9])(?:0x)?[0-9a-fA-F]{32,}(?![A-Za-z0-9])/g,
    replace: (match) => (/\d/.test(match) && /[a-f]/i.test(match.replace(/^0x/i, '')) ? '[redacted:hex]' : match),
  },
  {
    // Long base64/base64url runs that look random; UUIDs, words, identifiers and paths are left alone.
    name: 'long_base64',
    pattern: /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}={0,3}(?![A-Za-z0-9+/=_-])/g,
    replace: (match) => (isSecretRun(match) ? '[redacted:token]' : match),
  },
];

// ---------------------------------------------------------------------------------------------------
// Paths: absolute file paths reveal deployment layout and user names; route paths (/api/runs/1) stay.
// ---------------------------------------------------------------------------------------------------

const FILESYSTEM_ROOTS = new Set([
  'home', 'Users', 'root', 'var', 'tmp', 'opt', 'usr', 'etc', 'srv', 'app', 'apps', 'work', 'workspace', 'workspaces',
  'mnt', 'private', 'proc', 'sys', 'dev', 'data', 'builds', 'github', 'runner', 'snap', 'nix', 'lib', 'lib64', 'bin',
  'sbin', 'run', 'media', 'code', 'src', 'Volumes', 'Library', 'System', 'Applications', 'cygdrive', 'bitnami',
]);
const FILE_EXTENSION =
  /\.(?:[cm]?[jt]sx?|json|node|map|py|rb|go|java|kt|rs|php|cs|sql|log|pem|key|crt|cer|p12|env|ya?ml|toml|ini|conf|cfg|sh|txt|csv|lock|sock|db|sqlite)$/i;

function replacePosixPath(match: string): string {
  const trailing = /\.+$/.exec(match)?.[0] ?? '';
  const path = match.slice(0, match.length - trailing.length);
  const root = path.startsWith('~') ? '~' : (path.split('/')[1] ?? '');
  const isFile = root === '~' || FILESYSTEM_ROOTS.has(root) || /:\d+(?::\d+)?$/.test(path) || FILE_EXTENSION.test(path);
  return isFile ? `[path]${trailing}` : match;
}

const PATH_RULES: readonly Rule[] = [
  {
    // file:// URLs (ESM stack frames, import errors).
    name: 'file_url',
    pattern: /\bfile:\/\/[^\s"'<>()[\]]*/gi,
    replace: '[path]',
  },
  {
    // Windows drive paths (C:\Users\…, C:/…) and UNC shares (\\server\share\…).
    name: 'windows_path',
    pattern: /(?<!\w)[A-Za-z]:(?:\\|\/(?!\/))[^\s"'<>|()]*|\\\\[\w.$-]+\\[^\s"'<>|()]*/g,
    replace: '[path]',
  },
  {
    // POSIX absolute and home paths, with optional :line:col; kept when they look like URL routes.
    name: 'posix_path',
    pattern: /(?<![\w.:/~\\-])~?\/[\w.@+%-]+(?:\/[\w.@+%-]*)*(?::\d+(?::\d+)?)?/g,
    replace: replacePosixPath,
  },
];

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
