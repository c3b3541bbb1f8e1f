// Starts Swagger UI on the product's own description (a file, not an inline script, for the page's CSP).
/* global SwaggerUIBundle */
SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#reference',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  // No badge fetched from the public validator service.
  validatorUrl: null,
  defaultModelsExpandDepth: 0,
  docExpansion: 'list',
});
