/**
 * Jest reporter for `npm run test:reliability`: the table of what the suite survived, printed after Jest's own
 * report. Each stage appends its rows (JSON lines) to the file named by RELIABILITY_REPORT; this reporter names
 * that file before any test runs (the suite runs in band, so the stages see the variable) and prints the rows,
 * the stages that failed or did not run, the machine and the command at the end.
 */
const { mkdtempSync, readFileSync, rmSync, existsSync } = require('node:fs');
const { tmpdir, cpus } = require('node:os');
const { join } = require('node:path');

const STAGES = ['crash', 'database-loss', 'double-spend', 'hostile', 'ledger-faults'];

class ReliabilitySummaryReporter {
  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'gec-reliability-report-'));
    this.file = join(this.dir, 'rows.jsonl');
    process.env.RELIABILITY_REPORT = this.file;
    this.started = Date.now();
  }

  onRunComplete(_contexts, results) {
    const rows = existsSync(this.file)
      ? readFileSync(this.file, 'utf8')
          .split('\n')
          .filter((line) => line.trim() !== '')
          .map((line) => JSON.parse(line))
      : [];
    rmSync(this.dir, { recursive: true, force: true });
    const outcome = new Map();
    for (const file of results.testResults) {
      const stage = STAGES.find((s) => file.testFilePath.endsWith(`${s}.test.ts`)) ?? file.testFilePath;
      const failed = file.numFailingTests > 0 || file.testExecError;
      const todo = file.numTodoTests > 0 && file.numPassingTests === 0;
      outcome.set(stage, failed ? 'FAILED' : todo ? 'not run (todo)' : 'passed');
    }
    const cell = (text) => String(text).replace(/\|/g, '/');
    const lines = [
      '',
      `Reliability suite (${process.env.RELIABILITY === 'full' ? 'full' : 'short'}): what it survived`,
      '',
      '| stage | result | what | figure | survived |',
      '|---|---|---|---|---|',
    ];
    for (const stage of STAGES) {
      const mine = rows.filter((r) => r.stage === stage);
      const result = outcome.get(stage) ?? 'not run';
      if (mine.length === 0) lines.push(`| ${stage} | ${result} | — | — | — |`);
      for (const r of mine) {
        lines.push(`| ${stage} | ${result} | ${cell(r.what)} | ${cell(r.figure)} | ${cell(r.survived)} |`);
      }
    }
    const minutes = ((Date.now() - this.started) / 60000).toFixed(1);
    lines.push(
      '',
      `${results.numFailedTests} failed, ${results.numPassedTests} passed, ${results.numTodoTests} todo; ` +
        `${minutes} min on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}`,
      results.numFailedTests === 0 &&
        results.numFailedTestSuites === 0 &&
        results.numRuntimeErrorTestSuites === 0
        ? 'RESULT: nothing lost, doubled or answered wrongly'
        : 'RESULT: FAILED (see above)',
      '',
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  }
}

module.exports = ReliabilitySummaryReporter;
