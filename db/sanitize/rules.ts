// The sanitizer's rule table: the shapes of secrets and file paths, the key names whose values are secrets,
// and the labels that replace them. db/sanitize/sanitizer.ts applies them, in the order described there.
// Every regex is linear-time on its own (no nested ambiguous quantifiers); the engine's input cap bounds the rest.
import { isSecretRun, looksLikeBasicCredentials, looksLikeCredential } from './randomness.ts';

export const REDACTED = '[redacted]';

type Replacer = (match: string, ...groups: string[]) => string;

export interface Rule {
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

export const SECRET_RULES: readonly Rule[] = [
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
// JSON-in-JSON). The engine's scanner finds candidate keys with KEY_SEPARATOR, and only keys these tables
// judge sensitive consume their value (KEY_VALUE) — so a non-sensitive pair (url=https://x?token=…) is still
// scanned inside.
// ---------------------------------------------------------------------------------------------------

// Optional quote (or JSON-escaped quote) around the key; the separator is =, :, => or (for a few keys)
// whitespace followed by a quoted value, as in SQL "PASSWORD 'x'".
export const KEY_SEPARATOR = /(?<![\w\\])(\\?["']|)([A-Za-z_][\w.-]{0,63})\1([ \t]*(?:=>|[:=])[ \t]*|[ \t]+(?=\\?["']))/g;

// The value: an optional auth scheme, then a JSON-escaped, double- or single-quoted string (an unterminated
// quote runs to the end of the line), or an unquoted run up to whitespace, a quote, or "&next=" / ";Next="
// (query strings, connection strings).
export const KEY_VALUE = new RegExp(
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
export const TO_END_OF_LINE = /[^\n"'<>]+/y;

// Any key containing one of these is sensitive (after lowercasing and normalising - and . to _).
export const SENSITIVE_KEY_SUBSTRING =
  /password|passwd|passphrase|secret|token(?!s|iz|is|ed)|api_?key|private_?key|access_?key|account_?key|signing_?key|pre_?shared_?key|wep_?key|credential|authorization|cookie|signature/;
// Short words are only sensitive as whole components (so "author" or "passed" are not).
export const SENSITIVE_KEY_PARTS = new Set(['auth', 'pwd', 'pw', 'session', 'sessionid', 'sessid', 'sid', 'sig', 'jwt', 'otp', 'creds', 'bearer', 'psk']);
// In query strings these bare names carry secrets (?key=AIza…, OAuth ?code=…).
export const QUERY_ONLY_KEYS = new Set(['key', 'code', 'k', 'hash']);
// Metadata about a secret is not the secret: token_type, password_policy, session_count, auth_url…
export const BENIGN_KEY_SUFFIXES = new Set([
  'type', 'count', 'length', 'len', 'ttl', 'expiry', 'expires', 'exp', 'expiration', 'at', 'name', 'names', 'url',
  'uri', 'endpoint', 'header', 'provider', 'method', 'methods', 'kind', 'scheme', 'format', 'version', 'limit',
  'size', 'hint', 'policy', 'file', 'path', 'required', 'enabled', 'present', 'missing', 'valid', 'status', 'rate',
  'age', 'timeout', 'mode', 'strategy', 'algorithm', 'alg', 'issuer', 'audience', 'scope', 'scopes', 'field',
]);
// Keys that may be separated from a quoted value by whitespace alone (SQL: ALTER USER x PASSWORD 'y').
export const SPACE_SEPARATED_KEYS = new Set(['password', 'passwd', 'passphrase', 'pwd', 'secret']);
// Unquoted values that are prose, not secrets: "invalid token: jwt expired", "password=null".
export const BENIGN_VALUES = new Set([
  'a', 'an', 'the', 'is', 'was', 'are', 'not', 'no', 'yes', 'none', 'null', 'nil', 'undefined', 'empty', 'true',
  'false', 'ok', 'missing', 'required', 'invalid', 'expired', 'revoked', 'rejected', 'denied', 'malformed', 'mismatch',
  'incorrect', 'wrong', 'unknown', 'unset', 'set', 'present', 'absent', 'provided', 'expected', 'failed', 'error',
  'must', 'should', 'cannot', 'could', 'does', 'did', 'has', 'have', 'too', 'jwt', 'for', 'of', 'to', 'in', 'on',
  'with', 'without', 'and', 'or', 'reset', 'changed', 'updated', 'verification', 'validation', 'exceeded',
]);

// ---------------------------------------------------------------------------------------------------
// Bare auth schemes and generic high-entropy runs; db/sanitize/randomness.ts judges the candidates.
// ---------------------------------------------------------------------------------------------------

export const BARE_AUTH_RULES: readonly Rule[] = [
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

export const GENERIC_RULES: readonly Rule[] = [
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

export const PATH_RULES: readonly Rule[] = [
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
