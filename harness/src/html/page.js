"use strict";
// Renders the report from the JSON embedded once in #data, gzipped and base64-encoded (read
// with the browser's own DecompressionStream). DOM nodes are built with textContent only
// (never innerHTML), so report text cannot inject markup.
// #data holds each case's summary; its steps, raw-peer and driver records are entry i of
// detail block k (the case's `detail: [k, i]`): the element #b<k> after this script, a JSON
// array gzipped and base64-encoded, decompressed when one of its cases is first opened (the
// grid and the list are drawn while the browser is still reading the blocks).
// Set by start(), once #data is read.
let DATA, RUNS, FAMILIES;
const VERDICTS = ["PASS", "INFO", "WARN", "FAIL", "UNSUPPORTED", "NOT-RUN", "ERROR"];
// Colour severity (worst wins in a matrix cell).
const SEV = { PASS: 0, INFO: 1, UNSUPPORTED: 2, "NOT-RUN": 2, WARN: 3, FAIL: 4, ERROR: 5 };
// The harness's own order (verdict.rs): a deviation is a fix when actual < expected.
const RANK = { PASS: 0, INFO: 1, WARN: 2, FAIL: 3, UNSUPPORTED: 4, "NOT-RUN": 5, ERROR: 6 };
const LETTER = { PASS: "P", INFO: "I", WARN: "W", FAIL: "F", UNSUPPORTED: "U", "NOT-RUN": "N", ERROR: "E" };
const LIST_PAGE = 300;
const TIMELINE_PAGE = 200;
const HEX_SHOWN = 96;

const $ = (id) => document.getElementById(id);
function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
const badge = (v) => h("span", { class: "v v-" + v }, v);
const family = (id) => id.split("/")[0];
const runLabel = (run) =>
  run.iut2 && run.iut2.name !== run.iut.name ? run.iut.name + "+" + run.iut2.name : run.iut.name;
// `#case/<id>`, or `#case/<id>?run=<label>` for one run's result on a page of several runs.
const caseHref = (id, label) => "#case/" + encodeURIComponent(id).replace(/%2F/g, "/") +
  (label === undefined ? "" : "?run=" + encodeURIComponent(label).replace(/%2B/g, "+"));
// The href of a case of run `r` from the list: the run's own result when there are several.
const runCaseHref = (r, id) => caseHref(id, RUNS.length > 1 ? r.label : undefined);

// Calls `fn` once the whole page is parsed.
function whenParsed(fn) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn, { once: true });
  else fn();
}
// Calls `fn` once the detail blocks of `cases` are parsed and decompressed: a block can be
// read once its element is followed by a node (the parser has closed it), or the whole page is
// parsed, so that a case of the first runs opens from an anchor while the browser is still
// reading the later blocks. The parser inserting a node is the event: a MutationObserver
// re-checks then, not a timer.
function whenDetails(cases, fn) {
  const blocks = [...new Set(cases.filter((c) => c.detail !== undefined).map((c) => c.detail[0]))];
  const parsed = (k) => {
    const el = document.getElementById("b" + k);
    return el !== null && el.nextSibling !== null;
  };
  let done = false;
  let observer = null;
  const tryNow = () => {
    if (done || (document.readyState === "loading" && !blocks.every(parsed))) return;
    done = true;
    if (observer !== null) observer.disconnect();
    Promise.all(blocks.map(readBlock)).then(fn, (e) => {
      console.error(`the case details could not be read: ${e}`);
      $("case").append(h("p", { class: "actual" }, `the case details could not be read: ${e}`));
    });
  };
  tryNow();
  if (done) return;
  observer = new MutationObserver(tryNow);
  observer.observe(document.documentElement, { childList: true, subtree: true });
  whenParsed(tryNow);
}
// Text of base64 `b64` of gzip, inflated by the browser's own DecompressionStream. Corrupt
// data, or a browser without DecompressionStream, rejects (the writer's own promises are not
// awaited: the readable side reports the same error).
async function gunzipBase64(b64) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  const inflate = new DecompressionStream("gzip");
  const writer = inflate.writable.getWriter();
  writer.write(bytes).catch(() => {});
  writer.close().catch(() => {});
  return new Response(inflate.readable).text();
}
// Detail block k as its array of case details: decompressed once (a promise, kept).
const BLOCKS = new Map();
function readBlock(k) {
  if (!BLOCKS.has(k)) {
    const el = document.getElementById("b" + k);
    BLOCKS.set(k, el ? gunzipBase64(el.textContent.trim()).then(JSON.parse).then((d) => { READ.set(k, d); return d; })
      : Promise.reject(new Error(`no detail block ${k}`)));
  }
  return BLOCKS.get(k);
}
// Blocks already decompressed: k -> array of case details.
const READ = new Map();
// A case with its steps, raw-peer records and driver records (its block read by whenDetails).
function withDetail(c) {
  if (c.detail === undefined) return c;
  const d = (READ.get(c.detail[0]) || [])[c.detail[1]] || {};
  return Object.assign({}, c, { steps: d.steps || [], peers: d.peers || [], drivers: d.drivers || [] }, { detail: undefined });
}

// Per run: id -> "new" | "fixed" | "known" (baseline status), and the families.
const runsOf = (data) => data.runs.map((run, index) => {
  const status = new Map();
  if (run.baseline) {
    for (const d of run.baseline.deviations)
      status.set(d.id, RANK[d.actual] < RANK[d.expected] ? "fixed" : "new");
    for (const r of run.results)
      if (!status.has(r.id) && r.verdict !== "PASS" && r.verdict !== "INFO") status.set(r.id, "known");
  }
  const byFamily = new Map();
  for (const c of run.results) {
    const f = family(c.id);
    if (!byFamily.has(f)) byFamily.set(f, []);
    byFamily.get(f).push(c);
  }
  // Cases that matched the baseline only when run again (`run --retry`): id -> record.
  const flaky = new Map(((run.baseline && run.baseline.flaky) || []).map((f) => [f.id, f]));
  return { run, index, label: runLabel(run), status, flaky, byFamily };
});
// The families of all runs, sorted.
const familiesOf = (runs) => [...new Set(runs.flatMap((r) => [...r.byFamily.keys()]))].sort();
const STATUS_TEXT = { new: "new failure", fixed: "fixed", known: "as known" };

function counts(results) {
  const c = Object.fromEntries(VERDICTS.map((v) => [v, 0]));
  for (const r of results) c[r.verdict]++;
  return c;
}
function worst(results) {
  let w = null;
  for (const r of results) if (w === null || SEV[r.verdict] > SEV[w]) w = r.verdict;
  return w;
}

function renderMeta() {
  const total = DATA.runs.reduce((n, r) => n + r.results.length, 0);
  const when = new Date(DATA.generated_unix * 1000).toISOString().replace("T", " ").slice(0, 16);
  $("meta").textContent =
    `zmtp-harness ${DATA.harness_version} · ${DATA.runs.length} run(s) · ${total} case result(s) · generated ${when} UTC`;
  for (const v of VERDICTS) $("f-verdict").append(h("option", { value: v }, v));
  for (const f of FAMILIES) $("f-family").append(h("option", { value: f }, f));
  for (const r of RUNS) $("f-run").append(h("option", { value: String(r.index) }, r.label));
}

function renderMatrix() {
  const head = h("tr", {}, h("th", {}, "implementation"), FAMILIES.map((f) => h("th", { class: "fam" }, f)), h("th", {}, "total"));
  const rows = RUNS.map((r) => {
    const cells = FAMILIES.map((f) => {
      const results = r.byFamily.get(f) || [];
      if (!results.length) return h("td", { class: "cell c-none" }, "·");
      const c = counts(results);
      const text = VERDICTS.filter((v) => c[v]).map((v) => c[v] + LETTER[v]).join(" ");
      const title = `${r.label} · ${f}: ` + VERDICTS.filter((v) => c[v]).map((v) => `${c[v]} ${v}`).join(", ");
      return h("td", {
        class: "cell c-" + worst(results), title, "data-run": r.index, "data-family": f,
        onclick: () => selectCell(r.index, f),
      }, text);
    });
    const all = counts(r.run.results);
    return h("tr", {}, h("th", {}, r.label), cells,
      h("td", { class: "mono" }, VERDICTS.filter((v) => all[v]).map((v) => all[v] + LETTER[v]).join(" ")));
  });
  $("matrix").replaceChildren(h("table", { id: "matrix-table" }, head, rows),
    h("p", { class: "hint" }, "P PASS · I INFO · W WARN · F FAIL · U UNSUPPORTED · N NOT-RUN · E ERROR"));
}

function selectCell(run, fam) {
  for (const td of document.querySelectorAll("td.cell.sel")) td.classList.remove("sel");
  const td = document.querySelector(`td.cell[data-run="${run}"][data-family="${CSS.escape(fam)}"]`);
  if (td) td.classList.add("sel");
  $("f-run").value = String(run);
  $("f-family").value = fam;
  $("f-verdict").value = "";
  listShown = LIST_PAGE;
  renderList();
  $("list-section").scrollIntoView();
}

function renderImpls() {
  const out = RUNS.map((r) => {
    const run = r.run;
    const hello = (i) => (i.hello ? `${i.hello.library} ${i.hello.library_version} (driver ${i.hello.version})` : i.command);
    const head = h("tr", {}, h("th", {}, "family"), VERDICTS.map((v) => h("th", {}, v)));
    const rows = FAMILIES.map((f) => {
      const results = r.byFamily.get(f) || [];
      if (!results.length) return null;
      const c = counts(results);
      return h("tr", {}, h("td", {}, f), VERDICTS.map((v) => h("td", { class: "mono" }, c[v] ? String(c[v]) : "·")));
    });
    const all = counts(run.results);
    rows.push(h("tr", {}, h("th", {}, "total"), VERDICTS.map((v) => h("th", { class: "mono" }, String(all[v])))));
    let base = h("p", { class: "hint" }, "no baseline");
    if (run.baseline) {
      const by = { new: [], fixed: [], known: [] };
      for (const [id, s] of r.status) by[s].push(id);
      const links = (ids, cls) => ids.sort().map((id) => h("li", {}, h("a", { href: runCaseHref(r, id), class: cls }, id)));
      base = h("div", {},
        h("p", {}, `baseline ${run.baseline.path} (${run.baseline.listed} listed): `,
          h("span", { class: "b-new" }, `${by.new.length} new failure(s)`), " · ",
          h("span", { class: "b-fixed" }, `${by.fixed.length} fixed`), " · ",
          h("span", { class: "b-known" }, `${by.known.length} as known`),
          r.flaky.size ? h("span", { class: "b-flaky" }, ` · ${r.flaky.size} flaky (matched on a retry)`) : null),
        by.new.length ? h("ul", {}, links(by.new, "b-new")) : null,
        by.fixed.length ? h("ul", {}, links(by.fixed, "b-fixed")) : null,
        r.flaky.size ? h("ul", {}, links([...r.flaky.keys()], "b-flaky")) : null);
    }
    return h("div", { class: "impl" },
      h("h3", {}, r.label),
      h("p", { class: "hint" }, `iut: ${hello(run.iut)}` + (run.iut2.name !== run.iut.name ? ` · iut2: ${hello(run.iut2)}` : "") +
        ` · ${run.results.length} case(s) in ${(run.duration_ms / 1000).toFixed(1)} s` +
        (run.peak_rss_kib ? ` · harness peak RSS ${Math.round(run.peak_rss_kib / 1024)} MiB` : "")),
      h("table", {}, head, rows), base);
  });
  $("impls").replaceChildren(...out);
}

function filters() {
  return {
    verdict: $("f-verdict").value,
    family: $("f-family").value,
    run: $("f-run").value,
    baseline: $("f-baseline").value,
    req: $("f-req").value.trim().toUpperCase(),
    text: $("f-text").value.trim().toLowerCase(),
  };
}

function matches(r, c, f) {
  if (f.run !== "" && String(r.index) !== f.run) return false;
  if (f.family && family(c.id) !== f.family) return false;
  if (f.verdict === "!PASS" ? c.verdict === "PASS" : f.verdict && c.verdict !== f.verdict) return false;
  if (f.baseline && r.status.get(c.id) !== f.baseline) return false;
  if (f.req) {
    const ids = c.requirements.concat(c.checks.map((k) => k.requirement || ""));
    if (!ids.some((id) => id.toUpperCase().includes(f.req))) return false;
  }
  if (f.text) {
    const hay = [c.id, c.title, c.reason || ""]
      .concat(c.checks.map((k) => `${k.expected} ${k.actual} ${k.requirement_text || ""}`))
      .concat(c.requirements.map((id) => (DATA.requirements[id] || {}).text || ""))
      .join("\n").toLowerCase();
    if (!hay.includes(f.text)) return false;
  }
  return true;
}

let listShown = LIST_PAGE;
function renderList() {
  const f = filters();
  const hits = [];
  for (const r of RUNS) for (const c of r.run.results) if (matches(r, c, f)) hits.push([r, c]);
  $("list-count").textContent = `(${hits.length})`;
  const multi = RUNS.length > 1;
  const head = h("tr", {}, multi ? h("th", {}, "run") : null, h("th", {}, "verdict"), h("th", {}, "case"),
    h("th", {}, "title"), h("th", {}, "baseline"), h("th", {}, "why"));
  const rows = hits.slice(0, listShown).map(([r, c]) => {
    const s = r.status.get(c.id);
    return h("tr", {}, multi ? h("td", {}, r.label) : null, h("td", {}, badge(c.verdict)),
      h("td", { class: "id" }, h("a", { href: runCaseHref(r, c.id) }, c.id)), h("td", {}, c.title),
      h("td", {}, s ? h("span", { class: "b-" + s }, STATUS_TEXT[s]) : ""),
      h("td", {}, (c.reason || "").slice(0, 200)));
  });
  const more = hits.length > listShown
    ? h("button", { class: "more", type: "button", onclick: () => { listShown = hits.length; renderList(); } },
      `show all ${hits.length}`)
    : null;
  $("list").replaceChildren(h("table", {}, head, rows), more);
}

// Outcomes a check allowed: `"name" (VERDICT) or "name" (VERDICT)` in its expected text.
function outcomes(expected) {
  const out = [];
  const re = /"((?:[^"\\]|\\.)*)" \((PASS|INFO|WARN|FAIL|UNSUPPORTED|NOT-RUN|ERROR)\)/g;
  let m;
  while ((m = re.exec(expected))) out.push([m[1], m[2]]);
  return out;
}

// Decoded items of one direction: lines `offset length description` from the dissector.
function decodedItems(text) {
  const items = [];
  for (const line of (text || "").split("\n")) {
    const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (m) items.push({ off: +m[1], len: +m[2], text: m[3] });
  }
  return items;
}

function hexSpaced(hex) {
  return hex.replace(/(..)/g, "$1 ").trim();
}

function timeline(peer) {
  const chunks = peer.chunks || [];
  if (!chunks.length) {
    return h("div", {}, h("p", { class: "hint" }, "octets not kept (a passing case keeps a summary; --keep-transcripts keeps all)"),
      h("pre", {}, peer.transcript), h("pre", {}, peer.decoded_in));
  }
  const items = { in: decodedItems(peer.decoded_in), out: decodedItems(peer.decoded_out) };
  const table = h("table", { class: "timeline" });
  const head = h("tr", {}, h("th", {}, "ms"), h("th", {}, "dir"), h("th", {}, "offset"), h("th", {}, "octets"),
    h("th", {}, "hex"), h("th", {}, "decoded"));
  let shown = 0;
  const addRows = (n) => {
    const end = Math.min(chunks.length, shown + n);
    for (; shown < end; shown++) {
      const c = chunks[shown];
      const len = c.bytes.length / 2;
      const dec = items[c.dir].filter((i) => i.off >= c.offset && i.off < c.offset + len)
        .map((i) => `@${i.off} ${i.text}`).join("\n");
      const full = hexSpaced(c.bytes);
      const hexCell = h("td", { class: "hex" });
      if (len > HEX_SHOWN) {
        hexCell.append(hexSpaced(c.bytes.slice(0, HEX_SHOWN * 2)) + " ",
          h("a", { href: "#", onclick: (e) => { e.preventDefault(); hexCell.textContent = full; } },
            `… ${len - HEX_SHOWN} more octets`));
      } else hexCell.textContent = full;
      table.append(h("tr", { class: "dir-" + c.dir },
        h("td", { class: "mono" }, (c.t_us / 1000).toFixed(3)),
        h("td", { class: "arrow mono" }, c.dir === "out" ? "peer → iut" : "iut → peer"),
        h("td", { class: "mono" }, "@" + c.offset), h("td", { class: "mono" }, String(len)), hexCell,
        h("td", { class: "dec" }, dec)));
    }
    more.hidden = shown >= chunks.length;
    cut.hidden = !(shown >= chunks.length && peer.octets_not_shown);
    more.textContent = `show ${Math.min(TIMELINE_PAGE, chunks.length - shown)} more of ${chunks.length - shown}`;
  };
  const more = h("button", { class: "more", type: "button", onclick: () => addRows(TIMELINE_PAGE) });
  const cut = h("p", { class: "hint" },
    `… ${peer.octets_not_shown} more octets: in the --json report and the --pcap capture`);
  table.append(head);
  addRows(TIMELINE_PAGE);
  return h("div", {}, table, more, cut);
}

// For a case that matched the baseline only when run again: every verdict, and why the first
// attempt deviated (the result shown is the matching attempt's).
function flakyNote(f) {
  if (!f) return null;
  const differently = (f.first_changed || []).length ? ` (the first failed differently: ${f.first_changed.join("; ")})` : "";
  return h("p", { class: "b-flaky" }, `flaky: ${f.verdicts.join(" then ")}${differently}; this is the last attempt`,
    f.first_reason ? h("span", { class: "actual" }, ` · first attempt: ${f.first_reason}`) : null);
}

function casePanel(r, summary) {
  const c = withDetail(summary);
  const reqs = [...new Set(c.requirements.concat(c.checks.map((k) => k.requirement).filter(Boolean)))];
  const s = r.status.get(c.id);
  const checks = h("table", {}, h("tr", {}, ["step", "check", "requirement", "verdict", "allowed outcomes", "expected", "seen"].map((t) => h("th", {}, t))),
    c.checks.map((k) => {
      const allowed = outcomes(k.expected);
      return h("tr", { class: "check" },
        h("td", { class: "mono" }, String(k.step)),
        h("td", {}, k.label || k.check),
        h("td", { class: "mono" }, k.requirement ? `${k.requirement} (${k.level})` : k.level),
        h("td", {}, badge(k.verdict), k.outcome ? h("div", { class: "hint" }, `outcome: ${k.outcome}`) : null),
        h("td", {}, allowed.length ? h("ul", {}, allowed.map(([o, v]) => h("li", {}, badge(v), " ", o))) : ""),
        h("td", { class: "expected" }, k.expected),
        h("td", { class: "actual" }, k.actual));
    }));
  const steps = h("table", {}, h("tr", {}, ["#", "step", "at ms", "took ms", "outcome"].map((t) => h("th", {}, t))),
    c.steps.map((st) => h("tr", {}, h("td", { class: "mono" }, String(st.index)), h("td", {}, st.kind),
      h("td", { class: "mono" }, st.at_ms.toFixed(1)), h("td", { class: "mono" }, st.took_ms.toFixed(1)),
      h("td", { class: st.outcome === "ok" ? "" : "actual" }, st.outcome))));
  const drivers = (c.drivers || []).map((d) => h("div", {},
    h("h4", {}, `driver ${d.role} (${d.label}) · ${d.exit}`),
    h("p", {}, "stderr, last lines:"), h("pre", {}, d.stderr_tail || "(empty)"),
    h("details", {}, h("summary", {}, "driver requests and replies"), h("pre", {}, d.transcript))));
  const peers = (c.peers || []).map((p) => h("div", { class: "peer" },
    h("h4", {}, `raw peer connection ${p.name}` + (p.local_addr ? ` · peer ${p.local_addr} ↔ iut ${p.peer_addr}` : "")),
    h("details", {}, h("summary", {}, `events (${p.events.length}${p.events_dropped ? `, ${p.events_dropped} not kept` : ""})`),
      h("pre", {}, p.events.join("\n"))),
    h("h4", {}, "octets, both directions"), timeline(p)));
  const raw = h("details", { ontoggle: (e) => { if (e.target.open && !e.target.dataset.done) { e.target.dataset.done = "1"; e.target.append(h("pre", {}, JSON.stringify(c, null, 2))); } } },
    h("summary", {}, "the case's JSON (as in --json)"));
  return h("article", { class: "case", "data-run": r.index },
    h("h3", {}, badge(c.verdict), " ", RUNS.length > 1 ? `${r.label} · ` : "", c.id, ` · ${c.duration_ms.toFixed(0)} ms`,
      s ? h("span", { class: "b-" + s }, ` · ${STATUS_TEXT[s]}`) : ""),
    c.reason ? h("p", { class: "reason" }, c.reason) : null,
    flakyNote(r.flaky.get(c.id)),
    h("h4", {}, "requirements"),
    reqs.map((id) => {
      const q = DATA.requirements[id];
      return h("div", { class: "req" }, h("b", {}, id), q ? ` ${q.level} (${q.doc}): ${q.text}` : " (not in the registry)");
    }),
    h("h4", {}, "checks: expected and seen"), checks,
    c.measurements.length ? h("p", {}, "measured: " + c.measurements.map((m) => `${m.name} ${m.value.toFixed(2)} ${m.unit}`).join(", ")) : null,
    h("h4", {}, "steps"), steps, drivers, peers, raw);
}

// The case `id`: of run `label` only, or of every run that has it. Beside one run's result, a
// line links the other runs' verdicts of the same case; without a run, every run's result is a
// collapsed panel (drawn when opened) but the first that did not pass.
let caseShown = 0;
function showCase(id, label) {
  const mine = ++caseShown;
  const found = RUNS.flatMap((r) => r.run.results.filter((c) => c.id === id).map((c) => [r, c]));
  const shown = label === undefined ? found : found.filter(([r]) => r.label === label);
  $("case-section").hidden = false;
  if (!shown.length) {
    $("case-title").textContent = label === undefined ? `no case ${id} in this report` : `no case ${id} in run ${label}`;
    $("case").replaceChildren(h("p", {}, h("a", { href: "#" }, "back to the list")));
  } else {
    $("case-title").textContent = `${shown[0][1].id} — ${shown[0][1].title}`;
    const others = found.length > 1
      ? h("p", { class: "runs" }, "in every run: ", found.map(([r, c]) => h("span", { class: "run-verdict" },
        h("a", { href: caseHref(c.id, r.label), class: r.label === label ? "current" : null }, badge(c.verdict), " ", r.label), " ")),
      label === undefined ? null : h("a", { href: caseHref(id) }, "(all runs)"))
      : ""; // (replaceChildren would show a null as the text "null")
    const open = shown.find(([, c]) => c.verdict !== "PASS") || shown[0];
    $("case").replaceChildren(h("p", {}, h("a", { href: "#" }, "back to the list")), others,
      h("p", { class: "hint" }, "reading the case…"));
    // Scrolled to once drawn (one layout of the page, not two), or after 300 ms to say it is
    // being read (its block is still loading).
    let drawn = false;
    setTimeout(() => { if (!drawn && mine === caseShown) $("case-section").scrollIntoView(); }, 300);
    whenDetails([open[1]], () => {
      if (mine !== caseShown) return; // another case was asked for meanwhile
      drawn = true;
      const panels = shown.length === 1 ? [casePanel(...shown[0])] : shown.map((rc) => lazyPanel(rc, rc === open));
      $("case").replaceChildren(h("p", {}, h("a", { href: "#" }, "back to the list")), others, ...panels);
      performance.mark("zmtp-case");
      $("case-section").scrollIntoView();
    });
    return;
  }
  $("case-section").scrollIntoView();
}

// One run's result as a collapsed panel: its heading, the rest drawn when first opened.
function lazyPanel([r, c], open) {
  const d = h("details", { class: "run-case", open },
    h("summary", {}, badge(c.verdict), ` ${r.label}`, c.reason ? ` · ${c.reason.slice(0, 160)}` : ""));
  const draw = () => {
    if (d.open && !d.dataset.drawn) { d.dataset.drawn = "1"; whenDetails([c], () => d.append(casePanel(r, c))); }
  };
  d.addEventListener("toggle", draw);
  draw();
  return d;
}

function route() {
  const m = /^#case\/([^?]+)(?:\?run=(.*))?$/.exec(location.hash);
  if (m) {
    const id = decodeURIComponent(m[1]);
    const label = m[2] === undefined ? undefined : decodeURIComponent(m[2]);
    showCase(id, label);
  } else {
    caseShown++;
    $("case-section").hidden = true;
  }
}

function init() {
  performance.mark("zmtp-data");
  renderMeta();
  renderMatrix();
  performance.mark("zmtp-grid");
  // The grid is painted first (a large matrix has a long list of implementations); the rest
  // follows after the next frame, or after 100 ms where no frame comes (a hidden tab).
  let rest = false;
  const renderRest = () => {
    if (rest) return;
    rest = true;
    renderImpls();
    renderList();
    for (const id of ["f-verdict", "f-family", "f-run", "f-baseline"]) $(id).addEventListener("change", () => { listShown = LIST_PAGE; renderList(); });
    for (const id of ["f-req", "f-text"]) $(id).addEventListener("input", () => { listShown = LIST_PAGE; renderList(); });
    $("f-clear").addEventListener("click", () => {
      for (const id of ["f-verdict", "f-family", "f-run", "f-baseline", "f-req", "f-text"]) $(id).value = "";
      for (const td of document.querySelectorAll("td.cell.sel")) td.classList.remove("sel");
      renderList();
    });
    window.addEventListener("hashchange", route);
    route();
    document.body.dataset.ready = "1";
    performance.mark("zmtp-ready");
    whenParsed(() => { performance.mark("zmtp-parsed"); document.body.dataset.parsed = "1"; });
  };
  requestAnimationFrame(() => setTimeout(() => { performance.mark("zmtp-grid-painted"); renderRest(); }, 0));
  setTimeout(renderRest, 100);
}
// The report's data, then the views.
function start(data) {
  DATA = data;
  RUNS = runsOf(data);
  FAMILIES = familiesOf(RUNS);
  init();
}
gunzipBase64(document.getElementById("data").textContent.trim()).then(JSON.parse).then(start, (e) => {
  const text = `the report data could not be read (the page needs DecompressionStream: Chrome or Edge 80, ` +
    `Firefox 113, Safari 16.4 or later): ${e}`;
  console.error(text);
  $("meta").textContent = text;
});
