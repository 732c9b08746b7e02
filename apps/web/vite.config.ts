// Vite for the page: the @resnet packages from their TypeScript sources (the `@resnet/source` condition, as the
// tests and the bench use them) through their browser entries, the training worker as an ES module, and the
// page served cross-origin isolated (COOP/COEP) in dev and preview, which SharedArrayBuffer and so tfjs's
// threaded wasm build need. A static host serving dist/ must send the same two headers.
import { defineConfig } from 'vite';

/** The headers that make the page cross-origin isolated (`crossOriginIsolated === true`). */
export const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  resolve: { conditions: ['@resnet/source', 'browser', 'module'] },
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  worker: { format: 'es' },
  // Not minified: tfjs's threaded wasm build starts its threads from the text of one of its functions
  // (Function.prototype.toString), which a minifier leaves referring to renamed names outside it (the threads
  // then fail with 'e is not defined'). Static hosts compress the bundle anyway.
  build: { target: 'es2022', chunkSizeWarningLimit: 4096, minify: false },
});
