// The demo's webhook receiver (docs/api.md §13): a tiny HTTP server on a loopback port that acme's demo webhook
// points at. It checks each delivery's Runboard-Signature as any receiver should and prints one line per event.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../db/webhooks/signing.ts';
import type { WebhookPayload } from '../server/http/contract.ts';

export const DEMO_RECEIVER_PATH = '/runboard-demo-receiver';

export type DemoReceiver = { url: string; useSecret(secret: string): void; close(): Promise<void> };

export async function startDemoReceiver(say: (line: string) => void): Promise<DemoReceiver> {
  let secret = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const signed = verifySignature(req.headers['runboard-signature'] as string | undefined, raw, secret);
      res.writeHead(signed ? 204 : 401).end();
      try {
        const { event, run } = JSON.parse(raw) as WebhookPayload;
        const what = event === 'run.completed' ? run.outcome.replace('_', ' ') : 'queued';
        say(`webhook ${event}: ${run.label} in ${run.tenant} ${what} (${signed ? 'signature verified' : 'BAD SIGNATURE'})`);
      } catch {
        say('webhook: a delivery that is not JSON');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${DEMO_RECEIVER_PATH}`,
    useSecret: (value) => (secret = value),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
