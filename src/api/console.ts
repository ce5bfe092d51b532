import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express, { type NextFunction, type Request, type Response } from 'express';
import { PROBLEM_CONTENT_TYPE } from './problem.js';

/**
 * The web console: static files built by `npm run build` (Vite, from console/) into dist/console,
 * served at /console by the API process in both run modes. The page talks to the public /v1 API
 * only, with the tenant API key it keeps in sessionStorage.
 */
export const CONSOLE_PATH = '/console';

/** dist/console of this checkout, found from this file (src/api or dist/src/api) up to the package root. */
export function consoleDirectory(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'dist', 'console');
}

/** Only the page's own files and the same-origin API; nothing inline, no framing, no form posts, no referrer. */
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

export function mountConsole(app: NestExpressApplication, directory = consoleDirectory()): void {
  const index = join(directory, 'index.html');
  const statics = express.static(directory, {
    index: false,
    redirect: false,
    setHeaders: (res, path) => {
      // Vite names assets by content hash: cache them for good; the page itself is always revalidated.
      res.setHeader('Cache-Control', path.includes(`${join(directory, 'assets')}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  app.use(CONSOLE_PATH, (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (!existsSync(index)) {
      res
        .status(503)
        .type(PROBLEM_CONTENT_TYPE)
        .send({
          type: 'console-not-built',
          title: 'Console not built',
          status: 503,
          detail: 'The console files are missing: run `npm run build` (it builds the console into dist/console).',
          request_id: (req as Request & { id?: string }).id,
        });
      return;
    }
    if (req.path === '/' || req.path === '/index.html') {
      res.setHeader('Cache-Control', 'no-cache');
      return res.sendFile(index);
    }
    void statics(req, res, next);
  });
}
