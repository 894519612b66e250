import { defineConfig, type Plugin } from 'vite';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

// The build lands in dist/, which web.go embeds into the server binary.
// dist/ is emptied on every build (no stale hashed assets pile up), then
// dist/.gitkeep is written back: it is committed so that `go build` works in a
// fresh clone before npm has run.
function keepPlaceholder(): Plugin {
  return {
    name: 'bmg-keep-gitkeep',
    apply: 'build',
    closeBundle() {
      writeFileSync(resolve(import.meta.dirname, 'dist', '.gitkeep'), '');
    },
  };
}

// During `npm run dev` the API, media and chat endpoints are proxied to a
// locally running server (BMG_DEV_SERVER, default http://127.0.0.1:8080).
const backend = process.env.BMG_DEV_SERVER || 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [keepPlaceholder()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      '/api': { target: backend, ws: true },
      '/whep': backend,
      '/whip': backend,
      '/live': backend,
    },
  },
  preview: {
    proxy: {
      '/api': { target: backend, ws: true },
      '/whep': backend,
      '/whip': backend,
      '/live': backend,
    },
  },
});
