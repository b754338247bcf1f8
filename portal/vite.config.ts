import { defineConfig } from "vite";

// Deterministic output: fixed file names (no content hashes, no timestamps), relative base so the
// same files work under the handler's /portal/ and at the root of the Storage static website.
export default defineConfig({
  base: "./",
  build: {
    outDir: process.env.PORTAL_OUT_DIR || "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    rollupOptions: {
      output: {
        entryFileNames: "assets/[name].js",
        chunkFileNames: "assets/[name].js",
        assetFileNames: "assets/[name][extname]",
      },
    },
  },
});
