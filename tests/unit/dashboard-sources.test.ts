// How the dashboard's sources reach the rest of the repository: the server's contracts are imported for their
// types only (zod, the ORM and the queue stay out of the browser bundle), values only from the pure modules
// made for sharing, routes import the library through `#lib`, and the live path is the shared constant.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/app.ts';

const SRC = path.join(ROOT, 'dashboard', 'src');
/** Modules outside the dashboard whose values the browser may import: pure, no I/O, no dependencies. */
const SHARED_VALUES = ['db/runs/model.ts', 'server/live/events.ts'];

const sources = (readdirSync(SRC, { recursive: true, encoding: 'utf8' }) as string[])
  .filter((file) => /\.(ts|svelte)$/.test(file))
  .map((file) => ({ file: path.join('dashboard', 'src', file), text: readFileSync(path.join(SRC, file), 'utf8') }));

type ImportStatement = { file: string; typeOnly: boolean; from: string };

function importsOf({ file, text }: { file: string; text: string }): ImportStatement[] {
  const statements = text.matchAll(/\b(?:import|export)\s+(type\s+)?(?:[\w*\s,]*\{[^}]*\}|[\w*\s,]+?)\s+from\s+'([^']+)'/g);
  return [...statements].map(([, type, specifier]) => ({
    file,
    typeOnly: type !== undefined,
    from: specifier!.startsWith('.') ? path.relative(ROOT, path.resolve(ROOT, path.dirname(file), specifier!)) : specifier!,
  }));
}

const imports = sources.flatMap(importsOf);

describe('dashboard sources', () => {
  it('import the server’s modules for their types only, values only from the shared pure modules', () => {
    const outside = imports.filter((i) => /^(db|server|worker|clients)\//.test(i.from));
    expect(outside.some((i) => i.from === 'server/http/contract.ts')).toBe(true);
    expect(outside.filter((i) => !i.typeOnly && !SHARED_VALUES.includes(i.from))).toEqual([]);
  });

  it('routes import the library through #lib, not by climbing folders', () => {
    const climbing = imports.filter((i) => i.file.includes(`${path.sep}routes${path.sep}`) && i.from.startsWith('dashboard/src/lib'));
    expect(climbing).toEqual([]);
  });

  it('name the live channel’s path by its constant', () => {
    expect(sources.filter((s) => s.text.includes("'/socket.io'")).map((s) => s.file)).toEqual([]);
  });
});
