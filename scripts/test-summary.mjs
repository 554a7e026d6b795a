// Prints vitest's totals as one plain closing line ("Tests: N passed, N failed, N skipped"), read from the
// JSON report that `pnpm test` writes next to the default reporter's output.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(new URL('../.vitest/results.json', import.meta.url), 'utf8'));
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`Tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
process.exitCode = report.numFailedTests > 0 || report.success === false ? 1 : 0;
