// Whether a token looks machine-generated (a credential) rather than like a word, identifier or route: the
// judgement behind the bare-auth and generic rules of db/sanitize/rules.ts, kept out of the table itself.

/** True for strings that look machine-generated rather than like a word ("bearer authentication"). */
export function looksLikeCredential(token: string): boolean {
  const t = token.replace(/\.+$/, '');
  if (t.length >= 24) return true;
  return t.length >= 8 && (/\d/.test(t) || /[A-Z]/.test(t.slice(1)) || /[-_~+/=.]/.test(t));
}

export function looksLikeBasicCredentials(token: string): boolean {
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
export function isSecretRun(run: string): boolean {
  return run.split(UUID).some((piece) => piece.length >= 32 && isRandomLooking(piece));
}
