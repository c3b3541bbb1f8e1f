// The dashboard's build (SvelteKit 3: the configuration lives in the plugin call, not svelte.config.js).
// Built with `npm run build` from the repository root into dashboard/build, which the API server mounts on
// the same origin and port (server/http/dashboard.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import adapter from '@sveltejs/adapter-node';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';
import { LIVE_PATH } from '../server/live/events.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
/** `npm run dev:dashboard` proxies the API and the live channel to a running server (`npm run demo`). */
const apiTarget = `http://127.0.0.1:${process.env.RUNBOARD_API_PORT ?? '3000'}`;

/**
 * SvelteKit's route announcer (a visually hidden live region it renders itself) carries one inline style
 * attribute. The policy allows exactly that attribute by its hash, read from the installed SvelteKit, so no
 * other inline style can apply; if a SvelteKit upgrade moves it, the build stops here instead of silently
 * shipping a policy that blocks it.
 */
function announcerStyleHash(): `sha256-${string}` {
  const kit = createRequire(import.meta.url).resolve('@sveltejs/kit/package.json');
  const root = join(dirname(kit), 'src/runtime/components/root.svelte');
  const style = /id="svelte-announcer"[^>]*?style="([^"]+)"/s.exec(readFileSync(root, 'utf8'))?.[1];
  if (!style) throw new Error(`No route announcer style found in ${root}: review the dashboard's CSP (style-src-attr).`);
  return `sha256-${createHash('sha256').update(style).digest('base64')}`;
}

export default defineConfig({
  root: here,
  plugins: [
    sveltekit({
      adapter: adapter({ out: fileURLToPath(new URL('./build', import.meta.url)) }),
      csp: {
        // Nonces for the pages the server renders (every page here): SvelteKit adds them to the header it sends.
        mode: 'auto',
        directives: {
          'default-src': ['self'],
          'script-src': ['self'],
          'style-src': ['self'],
          // Components set styles through the CSSOM (`style:` directives), which CSP does not restrict.
          'style-src-attr': ['unsafe-hashes', announcerStyleHash()],
          'img-src': ['self', 'data:'],
          'font-src': ['self'],
          // 'self' covers the same-origin WebSocket of the live channel.
          'connect-src': ['self'],
          'object-src': ['none'],
          'base-uri': ['self'],
          'form-action': ['self'],
          // Fail closed at build time; the server replaces this one directive per response with the framing
          // FRAME_ANCESTORS allows (server/http/dashboard.ts, docs/api.md §13).
          'frame-ancestors': ['none'],
        },
      },
    }),
  ],
  server: {
    proxy: {
      '/api': apiTarget,
      [LIVE_PATH]: { target: apiTarget, ws: true },
    },
  },
});
