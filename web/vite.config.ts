import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The bundle is built into the Python package so that `pip install modeltrail` needs no Node.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../src/modeltrail/ui",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8080", "/openapi.json": "http://127.0.0.1:8080" },
  },
});
