// Plain CommonJS on purpose: it must run on any Node, so that an old one gets one clear line instead of
// ERR_UNKNOWN_FILE_EXTENSION ".ts" from the TypeScript sources (run by Node's type stripping, >= 22.18).
// Run by npm's preinstall, build and start; test/scripts/check-node.test.ts checks the message.

/** The one line an unsupported Node gets, or undefined when `version` (e.g. "v20.20.2") will do. */
function nodeProblem(version) {
  const [major, minor] = version.replace(/^v/, "").split(".").map(Number);
  if (major > 22 || (major === 22 && minor >= 18)) return undefined;
  return `lvm-edge needs Node.js >= 22.18 (this is ${version}): install Node 24 LTS (nvm install 24, or https://nodejs.org/en/download) and run the command again.`;
}

module.exports = { nodeProblem };

if (require.main === module) {
  const problem = nodeProblem(process.version);
  if (problem) {
    console.error(problem);
    process.exit(1);
  }
}
