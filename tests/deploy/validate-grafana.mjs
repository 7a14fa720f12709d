// Checks the Grafana dashboard and the alert rules against what dsl exports.
//
//   node validate-grafana.mjs DASHBOARD.json ALERTS.yml METRICS.txt RULES_OUT.yml
//
// Dashboard: parses as JSON; has uid, title, schemaVersion, a ${DS_PROMETHEUS} datasource input
// that every panel and target uses; unique panel ids; gridPos inside the 24-column grid; every
// target has a refId and an expr. Both files: every metric a query names (autonomous_*) is in
// METRICS.txt, and every exported gauge/counter the dashboard is meant to show is shown. Writes
// every dashboard query, with template variables replaced by regexes, as a recording rule to
// RULES_OUT.yml so that `promtool check rules` parses each one with Prometheus's own parser.
// Exit 0 when all checks pass, 1 otherwise (each problem printed).
import { readFileSync, writeFileSync } from "node:fs";
import { parse as parseYaml, stringify } from "yaml";

const MUST_SHOW = [
  "autonomous_health_score", "autonomous_active_agents", "autonomous_work_queue_size",
  "autonomous_completion_rate", "autonomous_decisions_executed_total",
  "autonomous_decisions_failed_total", "autonomous_cycle_duration_seconds_bucket",
  "autonomous_is_leader", "autonomous_spans_dropped_total",
];
const problems = [];
const fail = (msg) => problems.push(msg);

function metricsIn(expr) {
  return [...expr.matchAll(/\b(autonomous_[a-z0-9_]+)/g)].map((m) => m[1]);
}

function checkNames(where, expr, exported) {
  for (const name of metricsIn(expr)) {
    if (!exported.has(name)) fail(`${where}: unknown metric ${name} in: ${expr}`);
  }
}

function checkDashboard(file, exported) {
  let d;
  try {
    d = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    fail(`${file}: ${e.message}`);
    return [];
  }
  for (const key of ["uid", "title", "schemaVersion", "panels"]) {
    if (d[key] === undefined) fail(`${file}: missing ${key}`);
  }
  const input = (d.__inputs ?? []).find((i) => i.name === "DS_PROMETHEUS");
  if (!input || input.pluginId !== "prometheus") fail(`${file}: no DS_PROMETHEUS input`);
  const ids = new Set();
  const exprs = [];
  for (const p of d.panels ?? []) {
    const where = `${file}: panel ${p.id} "${p.title}"`;
    if (ids.has(p.id)) fail(`${where}: duplicate id`);
    ids.add(p.id);
    const g = p.gridPos ?? {};
    if (!(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.y >= 0 && g.h > 0)) {
      fail(`${where}: gridPos outside the 24-column grid`);
    }
    if (p.datasource?.uid !== "${DS_PROMETHEUS}") fail(`${where}: datasource is not the input`);
    if (!Array.isArray(p.targets) || p.targets.length === 0) fail(`${where}: no targets`);
    for (const t of p.targets ?? []) {
      if (!t.refId || typeof t.expr !== "string" || t.expr === "") {
        fail(`${where}: a target without refId or expr`);
        continue;
      }
      if (t.datasource && t.datasource.uid !== "${DS_PROMETHEUS}") {
        fail(`${where} ${t.refId}: datasource is not the input`);
      }
      checkNames(`${where} ${t.refId}`, t.expr, exported);
      exprs.push({ where: `${where} ${t.refId}`, expr: t.expr });
    }
  }
  const shown = new Set(exprs.flatMap((e) => metricsIn(e.expr)));
  for (const m of MUST_SHOW) if (!shown.has(m)) fail(`${file}: no panel shows ${m}`);
  return exprs;
}

function checkAlerts(file, exported) {
  const doc = parseYaml(readFileSync(file, "utf8"));
  for (const g of doc?.groups ?? []) {
    for (const r of g.rules ?? []) checkNames(`${file}: ${r.alert ?? r.record}`, r.expr, exported);
  }
}

function main([dashboard, alerts, metricsFile, rulesOut]) {
  if (!rulesOut) {
    console.error("usage: validate-grafana.mjs DASHBOARD ALERTS METRICS RULES_OUT");
    return 2;
  }
  const exported = new Set(
    readFileSync(metricsFile, "utf8").split("\n").map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#")));
  const exprs = checkDashboard(dashboard, exported);
  checkAlerts(alerts, exported);
  const rules = exprs.map((e, i) => ({
    record: `dashboard:query_${i}`,
    expr: e.expr.replaceAll(/\$\{?(job|instance)\}?/g, ".*").replaceAll("$__rate_interval", "5m"),
  }));
  writeFileSync(rulesOut, stringify({ groups: [{ name: "dashboard-queries", rules }] }));
  for (const p of problems) console.error(p);
  console.log(`${exprs.length} dashboard queries checked, ${problems.length} problems`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
