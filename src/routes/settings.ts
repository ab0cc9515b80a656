/** Settings → Connections (SPEC §8). */
import { Hono } from 'hono';
import type { Core } from '../core.ts';

export function maskToken(token: string): string {
  return '••••…' + token.slice(-4);
}

export function settingsRoutes(core: Core): Hono {
  const app = new Hono();

  app.get('/connections', (c) => {
    const config = core.config.current;
    return c.json({
      apiPort: core.listening.port,
      mcpPort: config.mcpPort,
      expose: core.listening.mode === 'exposed',
      bindHost: core.listening.host,
      mode: core.listening.mode,
      reachableAt: core.platform.system.interfaceAddresses(),
      token: maskToken(core.credentials.mainToken),
      tokenFromEnv: core.credentials.fixedByEnv,
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
    });
  });

  app.get('/token', (c) => c.json({ token: core.credentials.mainToken }));

  return app;
}
