import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { createRequire } from "node:module";
import { defineConfig, type Plugin } from "vite";
import react from "@vitejs/plugin-react";

const require = createRequire(import.meta.url);

// Swagger UI for /docs ships inside the package, so that the API's docs render offline and
// under a CSP that allows no other origin. Its source-map comment is dropped: the map is not
// shipped.
const SWAGGER_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE", "NOTICE"];

function swaggerUi(): Plugin {
  return {
    name: "modeltrail-swagger-ui",
    generateBundle() {
      for (const name of SWAGGER_FILES) {
        let source: string | Buffer = readFileSync(require.resolve(`swagger-ui-dist/${name}`));
        if (name.endsWith(".js") || name.endsWith(".css")) {
          source = source.toString("utf8").replace(/\n?\/[/*]# sourceMappingURL=\S+( \*\/)?\s*$/, "\n");
        }
        this.emitFile({ type: "asset", fileName: `swagger/${name}`, source });
      }
    },
  };
}

// A gzip copy beside each script and style sheet of the bundle, served as is to browsers that
// accept gzip (src/modeltrail/server/ui.py): compressed once, at the highest level.
function precompress(): Plugin {
  return {
    name: "modeltrail-precompress",
    apply: "build",
    writeBundle(options) {
      const assets = join(options.dir ?? "", "assets");
      for (const name of readdirSync(assets)) {
        if (!/\.(js|css|svg)$/.test(name)) continue;
        const source = readFileSync(join(assets, name));
        if (source.length >= 1024) writeFileSync(join(assets, `${name}.gz`), gzipSync(source, { level: 9 }));
      }
    },
  };
}

// The bundle is built into the Python package so that `pip install modeltrail` needs no Node.
// Its URLs are relative ("./assets/..."): index.html resolves them against its <base href>,
// which the server writes for the path prefix it is served under (src/modeltrail/server/ui.py),
// and each script loads the chunks it imports relative to its own address; one bundle serves
// any prefix.
export default defineConfig({
  plugins: [react(), swaggerUi(), precompress()],
  base: "./",
  build: {
    outDir: "../src/modeltrail/ui",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8080", "/openapi.json": "http://127.0.0.1:8080" },
  },
});
