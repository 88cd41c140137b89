import type { HttpAnswer, HttpRoutes } from '../metrics/http.ts';
import type { DashboardApi } from './api.ts';
import { PAGE_HTML } from './page-html.ts';
import { PAGE_SCRIPT } from './page-script.ts';
import { PAGE_STYLE } from './page-style.ts';

/**
 * Same-origin scripts and styles only, no frames: the page carries no
 * inline code, so nothing injected into a value it shows could run.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|\[::ffff:127(\.\d{1,3}){3}\])$/i;

function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (!hostHeader) return false;
  const name = hostHeader.replace(/:\d+$/, '');
  return LOOPBACK_HOSTS.test(name);
}

const text = (status: number, body: string, type: string): HttpAnswer => ({
  status,
  headers: { ...SECURITY_HEADERS, 'content-type': type },
  body,
});
const json = (value: unknown): HttpAnswer => text(200, `${JSON.stringify(value)}\n`, 'application/json');

/**
 * The dashboard's routes: the page at `/` and `/dashboard`, its script and
 * style, and the JSON API under `/api/`. When the endpoint listens on
 * loopback (the default), a request whose Host is not a loopback name is
 * refused: a web page elsewhere that rebinds its own name to 127.0.0.1
 * must not be able to read the API from the operator's browser.
 */
export function dashboardRoutes(api: DashboardApi, options: { loopbackOnly: boolean }): HttpRoutes {
  return (path, query, host) => {
    const known =
      path === '/' ||
      path === '/dashboard' ||
      path === '/dashboard.js' ||
      path === '/dashboard.css' ||
      path.startsWith('/api/');
    if (!known) return null;
    if (options.loopbackOnly && !isLoopbackHost(host)) {
      return Promise.resolve(
        text(
          421,
          'the admin endpoint listens on loopback: use http://127.0.0.1 or http://localhost\n',
          'text/plain',
        ),
      );
    }
    switch (path) {
      case '/':
      case '/dashboard':
        return Promise.resolve(text(200, PAGE_HTML, 'text/html; charset=utf-8'));
      case '/dashboard.js':
        return Promise.resolve(text(200, PAGE_SCRIPT, 'text/javascript; charset=utf-8'));
      case '/dashboard.css':
        return Promise.resolve(text(200, PAGE_STYLE, 'text/css; charset=utf-8'));
      case '/api/status':
        return api.status().then(json);
      case '/api/sessions':
        return Promise.resolve(json(api.sessions()));
      case '/api/migrations':
        return api.migrations().then(json);
      case '/api/series': {
        const since = Number(query.get('since') ?? Number.NEGATIVE_INFINITY);
        return Promise.resolve(
          json(api.seriesSince(Number.isFinite(since) ? since : Number.NEGATIVE_INFINITY)),
        );
      }
      default:
        return Promise.resolve(
          text(404, 'not found: /api/status, /api/sessions, /api/migrations, /api/series\n', 'text/plain'),
        );
    }
  };
}
