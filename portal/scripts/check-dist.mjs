// Rebuilds the portal into a temporary directory and fails when it differs from the committed
// dist/ (the build is deterministic: fixed file names, no timestamps).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const portal = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(portal, "dist");
const out = mkdtempSync(join(tmpdir(), "portal-dist-check-"));

function files(dir) {
  const found = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else found.push(relative(dir, p));
    }
  };
  walk(dir);
  return found.sort();
}

try {
  execFileSync(process.execPath, [join(portal, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"], {
    cwd: portal,
    env: { ...process.env, PORTAL_OUT_DIR: out },
    stdio: "inherit",
  });
  const want = files(out);
  const have = files(dist);
  const problems = [];
  for (const f of want) {
    if (!have.includes(f)) problems.push(`missing from dist/: ${f}`);
    else if (!readFileSync(join(out, f)).equals(readFileSync(join(dist, f)))) problems.push(`differs: dist/${f}`);
  }
  for (const f of have) if (!want.includes(f)) problems.push(`not produced by the build: dist/${f}`);
  if (problems.length) {
    console.error(`portal/dist is out of date; run "npm run build" in portal/ and commit dist/:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`portal/dist matches a fresh build (${want.length} files).`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
