import { readFileSync } from 'node:fs';
import { Router } from 'express';
import { notFound } from '../../../db/errors.ts';
import { asyncApiDocument } from '../openapi/asyncapi.ts';
import { openApiDocument } from '../openapi/document.ts';
import { REFERENCE_ASSETS, REFERENCE_CSP, REFERENCE_PAGE } from '../openapi/reference.ts';

/**
 * The API description (docs/api.md §13): the OpenAPI and AsyncAPI documents and the readable reference. Public:
 * they describe the API and reveal no data. Built once, when the app is created, and answered from memory.
 */
export function apiDescriptionRoutes(): Router {
  const router = Router();
  const openapi = JSON.stringify(openApiDocument());
  const asyncapi = JSON.stringify(asyncApiDocument());
  const page = readFileSync(REFERENCE_PAGE, 'utf8');

  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openapi);
  });

  router.get('/asyncapi.json', (_req, res) => {
    res.type('application/json').send(asyncapi);
  });

  // The page's own policy, set here so that it replaces the app-wide one of API answers.
  router.get('/docs', (_req, res) => {
    res.setHeader('Content-Security-Policy', REFERENCE_CSP);
    res.type('html').send(page);
  });

  router.get('/docs/assets/:file', (req, res) => {
    const file = Object.hasOwn(REFERENCE_ASSETS, req.params.file) ? REFERENCE_ASSETS[req.params.file] : undefined;
    if (!file) throw notFound('The file');
    res.setHeader('Content-Security-Policy', REFERENCE_CSP);
    // Static files of the installed packages (about 1.7 MB): cached for a day and revalidated by ETag, unlike
    // the API's answers (no-store), so the reference does not download them on every visit.
    res.setHeader('Cache-Control', 'public, max-age=86400');
    res.sendFile(file);
  });

  return router;
}
