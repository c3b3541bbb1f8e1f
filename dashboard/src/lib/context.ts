// What the signed-in shell hands down to its pages.
import { createContext } from 'svelte';
import type { Me } from './api.ts';
import type { Inbox } from './inbox.svelte.ts';
import type { LiveChannel } from './live.svelte.ts';

export type Shell = { me: Me; live: LiveChannel; inbox: Inbox };

export const [getShell, setShell] = createContext<Shell>();
