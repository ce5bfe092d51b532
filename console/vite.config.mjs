import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The console is built into dist/console and served by the service at /console (src/api/console.ts).
// JSX is compiled by Vite's own Oxc transform (React 19 automatic runtime), so no framework plugin is needed.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      // React Query marks its modules "use client" (for server components); meaningless in a browser bundle.
      onLog(level, log, handler) {
        if (log.code === 'MODULE_LEVEL_DIRECTIVE') return;
        handler(level, log);
      },
    },
  },
  server: {
    // `npx vite console` for UI work: the API calls go to a service started with `npm start`.
    proxy: { '/v1': 'http://localhost:3000' },
  },
});
