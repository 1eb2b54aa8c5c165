// Opens the HTML report in headless Chromium and checks it as a user would: the matrix is
// drawn, a failing cell lists its cases, the case view shows expected and seen text and the
// octets, anchors and filters work. Fails on any page script error. Prints a JSON summary.
//
//   node tools/report-check/check.mjs REPORT.html SCREENSHOT.png
//
// Uses Debian's chromium (CHROMIUM to override); playwright-core never downloads a browser.
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { withChromium } from "./browser.mjs";

const [html, shot] = process.argv.slice(2);
if (!html || !shot) {
  console.error("usage: check.mjs REPORT.html SCREENSHOT.png");
  process.exit(2);
}
const url = pathToFileURL(resolve(html)).href;
const errors = [];
const fail = (msg) => { throw new Error(msg); };
const summary = {};
await withChromium(errors, async (newPage) => {
  const page = await newPage();

  const t0 = Date.now();
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 60000 });
  summary.load_ms = Date.now() - t0;
  summary.script_ms = await page.evaluate(() => Math.round(performance.now()));

  // A failing cell of the matrix lists its cases.
  const cell = page.locator("td.cell.c-FAIL").first();
  if (!(await cell.count())) fail("no failing cell in the matrix");
  summary.cell = await cell.getAttribute("title");
  await cell.click();
  const failing = page.locator("#list tr:has(.v-FAIL) td.id a").first();
  await failing.waitFor();
  const id = await failing.textContent();
  summary.case = id;
  await failing.click();
  await page.waitForSelector("#case-section:not([hidden]) article.case");
  const hash = await page.evaluate(() => location.hash);
  if (hash !== `#case/${id}`) fail(`anchor is ${hash}, expected #case/${id}`);
  const expected = await page.locator("#case td.expected").first().textContent();
  const actual = await page.locator("#case td.actual").first().textContent();
  if (!expected.trim() || !actual.trim()) fail("the case view shows no expected or seen text");
  summary.expected = expected.slice(0, 160);
  summary.actual = actual.slice(0, 160);
  const hexRows = await page.locator("#case table.timeline td.hex").count();
  if (!hexRows) fail("the case view shows no octets");
  const firstHex = await page.locator("#case table.timeline td.hex").first().textContent();
  if (!/^[0-9a-f]{2}( [0-9a-f]{2})*/.test(firstHex)) fail(`octets not hex: ${firstHex}`);
  summary.timeline_rows = hexRows;
  summary.decoded = (await page.locator("#case table.timeline td.dec").allTextContents()).filter(Boolean).slice(0, 3);
  if (!summary.decoded.length) fail("the timeline shows no decoded form");
  const reqText = await page.locator("#case .req").first().textContent();
  if (!/(MUST|SHOULD|MAY)/.test(reqText)) fail(`requirement text missing: ${reqText}`);
  // The case view from its title to the octet timeline, as one image.
  await page.locator("#case-section").screenshot({ path: shot });

  // Filters: a requirement ID and a text search narrow the list.
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]');
  const count = async () => Number((await page.locator("#list-count").textContent()).replace(/\D/g, ""));
  const all = await count();
  await page.selectOption("#f-verdict", "FAIL");
  const fails = await count();
  await page.fill("#f-text", id);
  const one = await count();
  if (!(fails < all && one >= 1 && one <= fails)) fail(`filters did not narrow: ${all} ${fails} ${one}`);
  summary.filter_counts = { all, fails, search: one };

  // A shared anchor opens the case directly.
  await page.goto(`${url}#case/${id}`);
  await page.waitForSelector("#case-section:not([hidden]) article.case");
});
summary.errors = errors;
console.log(JSON.stringify(summary, null, 2));
process.exit(errors.length ? 1 : 0);
