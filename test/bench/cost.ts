// npm run bench runs this after run.ts: what the router costs the PBX (issue 16).
// Measures (cost/measure.ts), then writes its section into RESULTS.md between
// markers (run.ts regenerates the rest of the file) and the plot next to it.
//   test/harness/netns-run.sh <ns> npx tsx test/bench/cost.ts
// Rendering differs from measuring only in BENCH_COST_FROM (below). BENCH_COST_OUT=<file.json>:
// a side run (e.g. the 30-minute soak alone: BENCH_SOAK_S=1800): the figures go there and the
// section to stdout; RESULTS.md, cost-results.json and the plot stay as they are.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { measureCost, type CostResults } from './cost/measure.js';
import { renderSection, renderSvg } from './cost/render.js';

const here = import.meta.dirname;
const resultsFile = resolve(here, 'RESULTS.md');
const svgName = 'cost-by-rate.svg';
const BEGIN = '<!-- cost.ts: begin -->';
const END = '<!-- cost.ts: end -->';

// BENCH_COST_FROM=<cost-results.json>: render an earlier run again, measure nothing.
const from = process.env.BENCH_COST_FROM;
const results = from ? (JSON.parse(readFileSync(from, 'utf8')) as CostResults) : await measureCost();
const out = process.env.BENCH_COST_OUT;
if (out) {
  writeFileSync(out, `${JSON.stringify(results, null, 1)}\n`);
  process.stdout.write(`${renderSection(results, svgName)}\n`);
  process.exit(0);
}
if (!from) writeFileSync(resolve(here, 'cost-results.json'), `${JSON.stringify(results, null, 1)}\n`);
const section = `${BEGIN}\n${renderSection(results, svgName)}\n${END}`;
const current = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
const a = current.indexOf(BEGIN);
const b = current.indexOf(END);
const next = a >= 0 && b > a ? `${current.slice(0, a)}${section}${current.slice(b + END.length)}` : `${current.trimEnd()}\n\n${section}\n`;
writeFileSync(resultsFile, next);
if (results.rates.length > 0) writeFileSync(resolve(here, svgName), `${renderSvg(results)}\n`);
process.stderr.write(`bench cost: wrote ${resultsFile}${results.rates.length > 0 ? ` and ${svgName}` : ''}\n`);
