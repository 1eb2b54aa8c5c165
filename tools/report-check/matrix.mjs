// The HTML page of `zmtp-harness matrix` in headless Chromium, as a user reads it.
//
//   node tools/report-check/matrix.mjs check REPORT.html SCREENSHOT.png RUN FAMILY
//     Reads the grid (every cell: run, family, colour, counts), clicks the cell RUN × FAMILY (a
//     failing one), reads the case list it leaves, opens its first FAIL case (checks expected and
//     seen text, the requirement text, the octets in hex and decoded; screenshot of the case
//     view), uses the filters (verdict, family, run, requirement ID, text) and opens the case from
//     a shared anchor in a new page. Prints a JSON summary (the caller compares the grid and the
//     list with the reports); exits 1 on any failed step, page script error or console error.
//
//   node tools/report-check/matrix.mjs measure REPORT.html [LOADS]
//     Loads the page LOADS times (default 3): the time to the grid drawn and painted, to the
//     list drawn, to the whole page parsed, to open a failing case, and to open a case from a
//     shared anchor (of the first and of the last run that has it: drawn, and painted, the
//     first frame after). Prints JSON.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { withChromium } from "./browser.mjs";

const [mode, html, ...rest] = process.argv.slice(2);
if (!["check", "measure"].includes(mode) || !html) {
  console.error("usage: matrix.mjs check REPORT.html SCREENSHOT.png RUN FAMILY | measure REPORT.html [LOADS]");
  process.exit(2);
}
const url = pathToFileURL(resolve(html)).href;
const errors = [];
const summary = {};
const fail = (msg) => { throw new Error(msg); };

// The page's own marks (ms since navigation start): data parsed, grid drawn, list drawn, all parsed.
async function marks(page) {
  await page.waitForSelector('body[data-parsed="1"]', { timeout: 60000 });
  return page.evaluate(() => {
    const at = (name) => {
      const m = performance.getEntriesByName(name)[0];
      return m ? Math.round(m.startTime) : null;
    };
    const paint = performance.getEntriesByName("first-contentful-paint")[0];
    return {
      data_ms: at("zmtp-data"), grid_ms: at("zmtp-grid"), grid_painted_ms: at("zmtp-grid-painted"),
      ready_ms: at("zmtp-ready"),
      first_paint_ms: paint ? Math.round(paint.startTime) : null, parsed_ms: at("zmtp-parsed"),
    };
  });
}

// The grid as drawn: one entry per cell with results.
async function grid(page) {
  return page.evaluate(() => [...document.querySelectorAll("#matrix-table td.cell[data-run]")].map((td) => ({
    run: td.parentElement.querySelector("th").textContent,
    family: td.dataset.family,
    worst: [...td.classList].find((k) => k.startsWith("c-")).slice(2),
    text: td.textContent,
  })));
}

// The rows of the case list: run, verdict, id.
async function listRows(page) {
  return page.evaluate(() => [...document.querySelectorAll("#list tr")].slice(1).map((tr) => {
    const cells = [...tr.children];
    const multi = cells.length === 6;
    return {
      run: multi ? cells[0].textContent : null,
      verdict: cells[multi ? 1 : 0].textContent,
      id: cells[multi ? 2 : 1].textContent,
    };
  }));
}

const count = async (page) => Number((await page.locator("#list-count").textContent()).replace(/\D/g, ""));

// Time (in the page) from setting the hash to the case view painted.
async function openCaseMs(page, hash) {
  return page.evaluate(async (hash) => {
    const t0 = performance.now();
    location.hash = hash;
    await new Promise((done) => {
      const wait = () => (document.querySelector("#case-section:not([hidden]) article.case")
        ? requestAnimationFrame(() => setTimeout(done, 0)) : setTimeout(wait, 1));
      wait();
    });
    return Math.round(performance.now() - t0);
  }, hash);
}

async function check(newPage, [shot, run, family]) {
  if (!shot || !run || !family) fail("check needs SCREENSHOT.png RUN FAMILY");
  const page = await newPage();
  await page.goto(url);
  summary.timing = await marks(page);
  summary.grid = await grid(page);
  summary.rows = await page.evaluate(() => [...document.querySelectorAll("#matrix-table tr")].slice(1)
    .map((tr) => tr.querySelector("th").textContent));

  // The failing cell lists its cases, and only them.
  const cell = page.locator(`#matrix-table tr:has(th:text-is("${run}")) td.cell[data-family="${family}"]`);
  if ((await cell.count()) !== 1) fail(`no cell ${run} × ${family}`);
  summary.cell = { title: await cell.getAttribute("title"), class: await cell.getAttribute("class") };
  await cell.click();
  if (!(await cell.getAttribute("class")).includes("sel")) fail("the clicked cell is not marked");
  summary.cell_list = await listRows(page);
  const failing = page.locator("#list tr:has(.v-FAIL) td.id a").first();
  if (!(await failing.count())) fail(`no FAIL case listed for ${run} × ${family}`);
  const id = await failing.textContent();
  summary.case = id;
  await failing.click();
  const panel = "#case-section:not([hidden]) article.case";
  await page.waitForSelector(panel);
  summary.hash = await page.evaluate(() => location.hash);
  summary.panels = await page.locator(panel).count();
  summary.heading = await page.locator(`${panel} h3`).first().textContent();
  summary.run_links = await page.locator("#case p.runs .run-verdict").allTextContents();
  const expected = await page.locator("#case td.expected").allTextContents();
  const actual = await page.locator("#case td.actual").allTextContents();
  if (!expected.join("").trim() || !actual.join("").trim()) fail("the case view shows no expected or seen text");
  summary.expected = expected.map((t) => t.slice(0, 200));
  summary.actual = actual.map((t) => t.slice(0, 200));
  summary.requirements = (await page.locator("#case .req").allTextContents()).map((t) => t.slice(0, 200));
  const hex = await page.locator("#case table.timeline td.hex").allTextContents();
  if (!hex.length) fail("the case view shows no octets");
  if (!/^[0-9a-f]{2}( [0-9a-f]{2})*/.test(hex[0])) fail(`octets not hex: ${hex[0]}`);
  summary.timeline_rows = hex.length;
  summary.hex = hex.slice(0, 3).map((t) => t.slice(0, 120));
  summary.directions = [...new Set(await page.locator("#case table.timeline td.arrow").allTextContents())];
  summary.decoded = (await page.locator("#case table.timeline td.dec").allTextContents()).filter(Boolean).slice(0, 4);
  if (!summary.decoded.length) fail("the timeline shows no decoded form");
  // The whole case view, from its title to the octets, as the page lays it out (not under the
  // sticky filter bar, which a scrolled screenshot would draw over its top).
  await page.evaluate(() => window.scrollTo(0, 0));
  const box = await page.locator("#case-section").boundingBox();
  await page.screenshot({ path: shot, fullPage: true, clip: box });

  // Filters narrow the list: verdict, then family, then run, then requirement ID, then text.
  const failedReq = await page.locator("#case tr.check:has(.v-FAIL) td:nth-child(3)").first().textContent();
  const req = failedReq.split(" ")[0];
  await page.goto(url);
  await page.waitForSelector('body[data-parsed="1"]');
  const counts = { all: await count(page) };
  await page.selectOption("#f-verdict", "FAIL");
  counts.fail = await count(page);
  await page.selectOption("#f-family", family);
  counts.fail_family = await count(page);
  await page.selectOption("#f-run", { label: run });
  counts.fail_family_run = await count(page);
  summary.filtered = await listRows(page);
  await page.click("#f-clear");
  await page.fill("#f-req", req);
  counts.requirement = await count(page);
  summary.requirement = req;
  summary.requirement_list = await listRows(page);
  await page.click("#f-clear");
  await page.fill("#f-text", id);
  counts.text = await count(page);
  summary.text_list = await listRows(page);
  summary.filter_counts = counts;

  // A shared anchor opens the case in a new page: this run's result, and all runs' without ?run.
  const shared = await newPage();
  await shared.goto(`${url}${summary.hash}`);
  await shared.waitForSelector(panel);
  summary.anchor_heading = await shared.locator(`${panel} h3`).first().textContent();
  const all = await newPage();
  await all.goto(`${url}#case/${id}`);
  await all.waitForSelector(panel);
  summary.anchor_all = {
    runs: await all.locator("#case details.run-case").count(),
    open: await all.locator("#case details.run-case[open]").count(),
  };
  // A collapsed run opens on click.
  const closed = all.locator("#case details.run-case:not([open]) > summary").first();
  if (await closed.count()) {
    await closed.click();
    await all.waitForFunction(() => document.querySelectorAll("#case details.run-case[open] article.case").length === 2);
  }
}

async function measure(newPage, [loads]) {
  summary.loads = [];
  for (let i = 0; i < Number(loads || 3); i++) {
    const page = await newPage();
    const t0 = Date.now();
    await page.goto(url, { timeout: 120000 });
    const m = await marks(page);
    m.wall_ms = Date.now() - t0;
    m.grid_cells = await page.locator("#matrix-table td.cell[data-run]").count();
    m.rows = await page.locator("#matrix-table tr").count() - 1;
    const href = await page.evaluate(() => {
      const td = document.querySelector("td.cell.c-FAIL");
      td.click();
      return document.querySelector("#list tr:has(.v-FAIL) td.id a").getAttribute("href");
    });
    m.case = href;
    m.open_case_ms = await openCaseMs(page, href);
    m.timeline_rows = await page.locator("#case table.timeline td.hex").count();
    // A shared anchor to that case in the first and in the last run that has it (whose details
    // come last).
    const id = href.replace(/^#case\//, "").replace(/\?run=.*$/, "");
    const labels = await page.evaluate((id) => RUNS.filter((r) => r.run.results.some((c) => c.id === id))
      .map((r) => r.label), decodeURIComponent(id));
    await page.close();
    for (const [key, label] of [["anchor_first_run_ms", labels[0]], ["anchor_last_run_ms", labels[labels.length - 1]]]) {
      const shared = await newPage();
      // The case painted: the first frame after the page's mark that it is drawn.
      await shared.addInitScript(() => new PerformanceObserver((list) => {
        if (list.getEntries().some((e) => e.name === "zmtp-case"))
          requestAnimationFrame(() => setTimeout(() => performance.mark("zmtp-case-painted"), 0));
      }).observe({ type: "mark" }));
      await shared.goto(`${url}#case/${id}?run=${encodeURIComponent(label).replace(/%2B/g, "+")}`, { timeout: 120000 });
      await shared.waitForFunction(() => performance.getEntriesByName("zmtp-case-painted").length, null, { timeout: 60000 });
      const at = (name) => shared.evaluate((name) => Math.round(performance.getEntriesByName(name)[0].startTime), name);
      m[key] = await at("zmtp-case");
      m[key.replace(/_ms$/, "_painted_ms")] = await at("zmtp-case-painted");
      await shared.close();
    }
    summary.loads.push(m);
  }
}

await withChromium(errors, (newPage) => (mode === "check" ? check(newPage, rest) : measure(newPage, rest)));
summary.errors = errors;
console.log(JSON.stringify(summary, null, 2));
process.exit(errors.length ? 1 : 0);
