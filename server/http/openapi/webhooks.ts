// The `webhooks` of the OpenAPI document (docs/api.md §13): what Runboard sends to a tenant's webhook URLs.
import { WEBHOOK_EVENTS, type WebhookEvent } from '../../../db/webhooks/model.ts';
import { SIGNATURE_HEADER } from '../../../db/webhooks/signing.ts';
import { schemaRef, type JsonSchema } from './schemas.ts';

const WHEN: Record<WebhookEvent, string> = {
  'run.completed': "A run completed (only runs of the webhook's `types` and `outcomes`, when it names any).",
  'run.queued': 'A run was created and queued.',
};

const DELIVERY = `Sent by the workers, never inline in a request: at least once (de-duplicate by \`id\`, the same on every
attempt), in order per run, with a 10 s timeout; redirects are not followed. Anything but a 2xx answer is retried
with back-off for about an hour. With \`format: "slack"\` the body is a Slack incoming-webhook message (\`{ text, blocks }\`) instead.

**Checking a delivery**: \`${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex>\` where the hex is the HMAC-SHA256 of
\`"<t>.<raw body>"\` keyed with the webhook's secret (shown once, at creation). Compare in constant time and refuse
a \`t\` far from your clock, so a captured delivery cannot be replayed.`;

function delivery(event: WebhookEvent): JsonSchema {
  return {
    post: {
      operationId: `webhook_${event.replace('.', '_')}`,
      tags: ['Webhooks'],
      summary: event,
      description: `${WHEN[event]}\n\n${DELIVERY}`,
      parameters: [
        {
          name: SIGNATURE_HEADER,
          in: 'header',
          required: true,
          description: 'The signature of this exact body; while a secret is rotated there may be several `v1=` parts.',
          schema: { type: 'string', pattern: '^t=[0-9]+(,v1=[0-9a-f]{64})+$' },
        },
        { name: 'Runboard-Event', in: 'header', required: true, description: 'The event.', schema: { const: event } },
        { name: 'Runboard-Delivery', in: 'header', required: true, description: "The delivery's id: the body's `id`.", schema: { type: 'string', format: 'uuid' } },
      ],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { allOf: [schemaRef('WebhookPayload'), { type: 'object', properties: { event: { const: event } } }] } } },
      },
      responses: {
        '2XX': { description: 'Received: this delivery is done.' },
        default: { description: 'Not received: the delivery is tried again later.' },
      },
    },
  };
}

export const webhookDescriptions = (): Record<string, JsonSchema> => Object.fromEntries(WEBHOOK_EVENTS.map((event) => [event, delivery(event)]));
