import { defineConfig } from 'vite';

// base stays '/': with './' a deep link such as /compare would load its
// script from the wrong path (STYLE.md, Known traps).
export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    chunkSizeWarningLimit: 400,
  },
  worker: { format: 'es' },
  server: {
    // `npm run dev` against a running tickertape: TT=http://127.0.0.1:8080 npm run dev
    proxy: process.env.TT
      ? Object.fromEntries(['/events', '/api', '/metrics', '/ws'].map((p) => [p, { target: process.env.TT, ws: p === '/ws' }]))
      : undefined,
  },
  test: {
    include: ['test/unit/**/*.test.ts'],
    environment: 'node',
    reporters: ['default', './test/unit/summary-reporter.ts'],
  },
} as import('vite').UserConfig);
