// Lints docker/Dockerfile.* offline with dockerfile-utils (the validator behind the VS Code Docker extension)
// and checks that every COPY source exists once `mvn package` has run (the build context is the repository
// root). Run by .ci/run after the build. Exits non-zero on any diagnostic or missing path.
import { readFileSync, readdirSync, existsSync } from "node:fs";
import { validate, ValidationSeverity } from "dockerfile-utils";

const root = new URL("..", import.meta.url).pathname;
const files = readdirSync(root + "docker").filter((f) => f.startsWith("Dockerfile"));
let problems = 0;
for (const name of files) {
  const text = readFileSync(`${root}docker/${name}`, "utf8");
  for (const d of validate(text)) {
    const severity = d.severity === ValidationSeverity.ERROR ? "error" : "warning";
    console.log(`docker/${name}:${d.range.start.line + 1}: ${severity}: ${d.message}`);
    problems++;
  }
  // COPY [--chown=...] <src>... <dest>, continuation lines joined
  const instructions = text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim());
  for (const line of instructions.filter((l) => /^COPY\s/i.test(l))) {
    const args = line.split(/\s+/).slice(1).filter((a) => !a.startsWith("--"));
    if (line.includes("--from=")) continue;
    for (const source of args.slice(0, -1)) {
      if (!source.startsWith("target/quarkus-app/")) {
        console.log(`docker/${name}: COPY ${source} is not an output of mvn package`);
        problems++;
      } else if (!existsSync(root + source)) {
        console.log(`docker/${name}: COPY ${source} does not exist (run mvn package first)`);
        problems++;
      }
    }
  }
  console.log(`docker/${name}: checked`);
}
console.log(`${files.length} Dockerfiles, ${problems} problems`);
process.exit(problems === 0 && files.length >= 2 ? 0 : 1);
