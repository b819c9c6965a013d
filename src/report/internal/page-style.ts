/**
 * The report page's own stylesheet: system fonts, one accent colour per
 * verdict, greys for the rest. Inlined (with uPlot's) under a CSP hash, so
 * the page uses classes only: no `style` attribute, which the policy blocks.
 */
export const PAGE_STYLE = `
:root { color-scheme: light; --fg: #1a202c; --muted: #667085; --line: #e2e8f0; --bg: #fff; --soft: #f7f8fa;
  --healthy: #1f7a3f; --blocked: #b42318; --gc: #b54708; --io: #175cd3; --unknown: #475467; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1200px; margin: 0 auto; padding: 0 20px 40px; }
code, .loc, .argv { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; overflow-wrap: anywhere; }
h2 { font-size: 1.25em; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05em; margin: 0 0 4px; }
.muted, .lib, .lib code { color: var(--muted); }
.verdict { margin: 0 -20px; padding: 24px 20px 18px; color: #fff; background: var(--unknown); }
.verdict-healthy { background: var(--healthy); }
.verdict-event-loop-blocked { background: var(--blocked); }
.verdict-gc-pressure { background: var(--gc); }
.verdict-io-bound { background: var(--io); }
.verdict h1 { font-size: 2.4em; line-height: 1.1; margin: 0 0 6px; }
.verdict .verdict-kind { margin: 0; opacity: 0.85; font-size: 0.85em; text-transform: uppercase; letter-spacing: 0.06em; }
.verdict .detail { font-size: 1.2em; margin: 0 0 8px; }
.verdict .advice { margin: 0; padding-left: 1.4em; font-size: 1.05em; }
.verdict .gate { margin: 8px 0 0; font-weight: 600; }
.verdict code { background: rgba(255,255,255,0.18); padding: 0 4px; border-radius: 3px; }
.summary { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 12px 0; padding: 10px 12px; background: var(--soft); border: 1px solid var(--line); border-radius: 6px; }
.summary .command { font-weight: 600; }
.crash { color: var(--blocked); margin: 4px 0; }
.charts-head { display: flex; align-items: baseline; gap: 16px; flex-wrap: wrap; }
.charts-head label { color: var(--muted); }
.chart-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 16px 24px; }
.chart { min-width: 0; overflow: hidden; }
.chart h3 { font-weight: 600; color: var(--muted); font-size: 0.9em; }
.chart .u-legend { font-size: 12px; }
.block-detail { min-height: 1.5em; margin: 6px 0 0; color: var(--blocked); }
.key { color: var(--muted); font-size: 0.85em; }
.key .band { display: inline-block; width: 14px; height: 10px; vertical-align: middle; margin: 0 4px 0 10px; }
.key .band-running { background: rgba(180,35,24,0.28); }
.key .band-startup { background: rgba(102,112,133,0.28); }
.culprit { border: 1px solid var(--line); border-left: 4px solid var(--blocked); border-radius: 6px; padding: 10px 14px; margin: 10px 0; }
.culprit p { margin: 2px 0; }
.culprit .rank { display: inline-block; min-width: 1.6em; color: var(--muted); }
.culprit .pkg { font-size: 0.8em; font-weight: 500; padding: 1px 6px; border-radius: 10px; background: var(--soft); border: 1px solid var(--line); color: var(--muted); }
.culprit .culprit-advice { font-weight: 500; }
.stack-box summary, .more summary { cursor: pointer; color: var(--muted); margin-top: 4px; }
.stack { margin: 4px 0 0; padding-left: 2.2em; }
.stack li { margin: 1px 0; }
.stack li .loc { color: var(--muted); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { text-align: left; vertical-align: top; padding: 4px 8px; border-bottom: 1px solid var(--line); }
th { background: var(--soft); font-weight: 600; position: sticky; top: 0; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.over td { background: #fef3f2; }
.process-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 12px; }
.process { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.process dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 6px 0 0; }
.process dt { color: var(--muted); }
.process dd { margin: 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 0.85em; }
`;
