// `npm run openapi`: regenerates server/http/openapi/wire-schemas.json, the JSON Schemas of the API's
// response and live-event shapes (docs/api.md §13), from their TypeScript types. Commit the result.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateWireSchemas, wireSchemasText } from '../server/http/openapi/generate.ts';
import { WIRE_SCHEMAS_URL } from '../server/http/openapi/schemas.ts';

const path = fileURLToPath(WIRE_SCHEMAS_URL);
const text = wireSchemasText(generateWireSchemas());
const before = (() => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
})();
if (before === text) {
  console.log(`${path}: up to date`);
} else {
  writeFileSync(path, text);
  console.log(`${path}: written (${Object.keys(JSON.parse(text).schemas).length} schemas)`);
}
