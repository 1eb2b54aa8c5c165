// Headless Chromium for the report checks: Debian's chromium (CHROMIUM to override; playwright-core
// never downloads a browser), a throwaway profile, and every page script error, console error or
// non-file request collected into `errors`.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/// Runs `body(newPage)` in a fresh headless Chromium; `newPage()` opens a page that records its
/// errors into `errors`. The browser and its profile are gone when this returns.
export async function withChromium(errors, body) {
  const profile = mkdtempSync(join(tmpdir(), "zmtp-report-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  const newPage = async () => {
    const page = await context.newPage();
    page.on("pageerror", (e) => errors.push(`page error: ${e.message}`));
    page.on("console", (m) => { if (m.type() === "error") errors.push(`console error: ${m.text()}`); });
    page.on("request", (r) => { if (!r.url().startsWith("file:")) errors.push(`network request: ${r.url()}`); });
    return page;
  };
  try {
    await body(newPage);
  } catch (e) {
    errors.push(String((e && e.stack) || e));
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
