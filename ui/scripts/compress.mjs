// Writes name.gz and name.br beside every compressible file in dist/, so the
// server can send them as they are (with Vary: Accept-Encoding). Both are
// deterministic: zlib's gzip header carries no name and mtime 0, and brotli
// has no header fields at all, so the same dist gives the same bytes.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = new URL('../dist/', import.meta.url).pathname;
const exts = /\.(js|mjs|css|html|svg|json|txt|map)$/;
let n = 0;
function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (exts.test(name)) {
      const buf = readFileSync(p);
      if (buf.length < 1024) continue;
      writeFileSync(p + '.gz', gzipSync(buf, { level: 9 }));
      writeFileSync(p + '.br', brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: buf.length } }));
      n++;
    }
  }
}
walk(root);
console.log(`compress: ${n} files → .gz and .br`);
