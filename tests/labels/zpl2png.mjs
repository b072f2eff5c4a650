// zpl2png.mjs ZPLFILE WIDTH_MM HEIGHT_MM DPMM OUTPREFIX
// Renders each ^XA..^XZ label of ZPLFILE to OUTPREFIX-N.png (N from 1) with
// zpl-renderer-js, an emulator independent of labelgen, and prints the count.
import fs from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const [file, w, h, dpmm, prefix] = process.argv.slice(2);
const { ready } = require("zpl-renderer-js");
const { api } = await ready;
const labels = await api.zplToBase64MultipleAsync(fs.readFileSync(file, "utf8"),
  Number(w), Number(h), Number(dpmm));
labels.forEach((b64, i) => fs.writeFileSync(`${prefix}-${i + 1}.png`, Buffer.from(b64, "base64")));
console.log(labels.length);
process.exit(0);
