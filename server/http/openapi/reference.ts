// The files of the readable API reference at /api/docs (docs/api.md §13): Swagger UI from the swagger-ui-dist
// package (no CDN) and the page's own two files. Only these are served, each from where it lies on disk.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SWAGGER_UI = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const OWN = fileURLToPath(new URL('./reference/', import.meta.url));

/** The reference page itself. */
export const REFERENCE_PAGE = join(OWN, 'index.html');

/** What `/api/docs/assets/:file` serves, by file name. */
export const REFERENCE_ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': join(SWAGGER_UI, 'swagger-ui.css'),
  'swagger-ui-bundle.js': join(SWAGGER_UI, 'swagger-ui-bundle.js'),
  'favicon-32x32.png': join(SWAGGER_UI, 'favicon-32x32.png'),
  'reference.css': join(OWN, 'reference.css'),
  'reference.js': join(OWN, 'reference.js'),
};

/**
 * The page's own policy: its scripts and styles come from this origin only, nothing it loads may come from
 * elsewhere, and it cannot be framed. Swagger UI draws its icons as `data:` images.
 */
export const REFERENCE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
