// Browser test of the photo app (`/photos/` in `celeriac serve`), in
// headless Chromium driven by playwright-core:
//
//   node tests/browser/photos.mjs BASE_URL FIXTURES_DIR SCREENSHOT_PATH
//
// (or PHOTOS_BASE_URL, PHOTOS_FIXTURES, PHOTOS_SCREENSHOT in the
// environment). Uploads 20 photos at once, checks that each is shown
// "Processing…" and then finished with its face count and boxes, checks
// that a text file is refused with a message on the page, and saves a
// screenshot. Exits non-zero with a message on the first failed
// expectation; every wait has a timeout, and a watchdog ends the whole run.
// crates/celeriac-cli/tests/photos_browser.rs starts the server and runs it.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium } from "playwright-core";

const BASE_URL = (process.argv[2] || process.env.PHOTOS_BASE_URL || "").replace(/\/+$/, "");
const FIXTURES = process.argv[3] || process.env.PHOTOS_FIXTURES || "";
const SCREENSHOT = process.argv[4] || process.env.PHOTOS_SCREENSHOT || "";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

const PHOTO_COUNT = 20;
const STEP_TIMEOUT_MS = 60_000;
const TOTAL_TIMEOUT_MS = 150_000;

// The test photos (tests/fixtures/photos/README.md): faces expected, and for
// photos with a face, roughly where its box's centre is (fractions of the
// width and height), to catch boxes drawn in the wrong place.
const FIXTURES_EXPECTED = {
  astronaut: { faces: 1, centre: [(173 + 99 / 2) / 512, (68 + 99 / 2) / 512] },
  camera: { faces: 1, centre: [(196 + 70 / 2) / 512, (118 + 70 / 2) / 512] },
  coffee: { faces: 0 },
  chelsea: { faces: 0 },
};
// How far a box's centre may be from the expected one (fraction of the frame).
const CENTRE_TOLERANCE = 0.1;

// A failed expectation. Thrown, not exited on, so the browser is closed.
class Failure extends Error {}

function fail(message) {
  throw new Failure(message);
}

function log(message) {
  console.log(message);
}

function facesText(n) {
  return n === 1 ? "1 face" : `${n} faces`;
}

if (!BASE_URL || !FIXTURES || !SCREENSHOT) {
  console.error("usage: node photos.mjs BASE_URL FIXTURES_DIR SCREENSHOT_PATH");
  process.exit(2);
}

// Whatever hangs (the browser, a wait without its own limit), the run ends.
const watchdog = setTimeout(() => {
  console.error(`FAIL: the browser test did not finish within ${TOTAL_TIMEOUT_MS / 1000} s`);
  process.exit(3);
}, TOTAL_TIMEOUT_MS);

let browser;
// Uncaught exceptions in the page's script, reported with any failure.
const pageErrors = [];
// The 20 uploads, as files: the browser reads them from disk as it would a
// user's choice (buffers would be copied through the DevTools protocol,
// seconds for 9 MB).
const uploadDir = mkdtempSync(join(tmpdir(), "celeriac-photos-"));
try {
  await run();
  clearTimeout(watchdog);
  log("PASS");
} catch (e) {
  console.error(`FAIL: ${e instanceof Failure ? e.message : e && e.stack ? e.stack : e}`);
  if (pageErrors.length) console.error(`the page's script threw: ${pageErrors.join("; ")}`);
  process.exitCode = 1;
} finally {
  // Closing can itself hang if the browser is wedged; the watchdog covers it.
  if (browser) await browser.close().catch(() => {});
  rmSync(uploadDir, { recursive: true, force: true });
  clearTimeout(watchdog);
}

async function run() {
  let uploaded = Date.now();
  const since = () => `${((Date.now() - uploaded) / 1000).toFixed(2)} s after choosing the files`;

  // 20 uploads: copies of the four test photos, each under its own name.
  const kinds = Object.keys(FIXTURES_EXPECTED);
  const files = [];
  for (let i = 0; i < PHOTO_COUNT; i++) {
    const kind = kinds[i % kinds.length];
    const name = `${kind}-${String(i + 1).padStart(2, "0")}.png`;
    const path = join(uploadDir, name);
    copyFileSync(join(FIXTURES, `${kind}.png`), path);
    files.push({ name, kind, path });
  }

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking"],
    timeout: STEP_TIMEOUT_MS,
  });
  // Tall enough that every card is in view: the images load lazily.
  const page = await browser.newPage({ viewport: { width: 1280, height: 2400 } });
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => {
    // Informational: the refused upload logs its 4xx here too.
    if (m.type() === "error") log(`  browser console: ${m.text()} (${m.location().url || "?"})`);
  });

  const url = `${BASE_URL}/photos/`;
  const response = await page.goto(url, { waitUntil: "load" });
  if (!response || !response.ok()) fail(`GET ${url} answered ${response && response.status()}`);
  log(`opened ${url}`);

  // Record every card the page's script puts in the gallery, with its state
  // and status text at that moment: a photo may finish in a fraction of a
  // second, faster than polling would catch it "Processing…".
  await page.evaluate(() => {
    window.__seen = [];
    const record = (li) => {
      if (!(li instanceof HTMLElement) || !li.matches("li.photo")) return;
      const status = li.querySelector(".status");
      const name = li.querySelector(".name");
      window.__seen.push({
        id: li.dataset.id || null,
        name: name ? name.textContent : null,
        state: li.dataset.state || null,
        status: status ? status.textContent : null,
      });
    };
    new MutationObserver((mutations) => {
      for (const m of mutations) m.addedNodes.forEach(record);
    }).observe(document.getElementById("gallery"), { childList: true });
  });

  // All 20 in one choice of files, as a user selecting them would.
  uploaded = Date.now();
  await page.setInputFiles("#files", files.map((f) => f.path));
  log(`chose ${PHOTO_COUNT} photos (${kinds.map((k) => `${k}.png ×${PHOTO_COUNT / kinds.length}`).join(", ")})`);

  // Every upload is answered with a card in the "processing" state.
  await page.waitForFunction(
    (n) => new Set(window.__seen.filter((s) => s.state === "processing").map((s) => s.id)).size >= n,
    PHOTO_COUNT,
    { timeout: STEP_TIMEOUT_MS, polling: 50 },
  ).catch(async () => {
    const seen = await page.evaluate(() => window.__seen);
    fail(`not every photo was shown processing within ${STEP_TIMEOUT_MS / 1000} s; cards seen: ${JSON.stringify(seen)}`);
  });
  const seen = await page.evaluate(() => window.__seen);
  const idOf = new Map(); // name → id
  for (const s of seen) {
    if (s.id && s.state === "processing") {
      if (s.status !== "Processing…") fail(`${s.name} is processing but reads ${JSON.stringify(s.status)}`);
      idOf.set(s.name, s.id);
    }
  }
  for (const f of files) {
    if (!idOf.has(f.name)) fail(`${f.name} was never shown "Processing…"; cards seen: ${JSON.stringify(seen)}`);
  }
  log(`pending: ${idOf.size}/${PHOTO_COUNT} photos shown "Processing…" (by ${since()})`);

  // Then each one finishes, over the server-sent events.
  await page.waitForFunction(
    (ids) => ids.every((id) => {
      const li = document.getElementById(`photo-${id}`);
      return li && li.dataset.state !== "processing";
    }),
    [...idOf.values()],
    { timeout: STEP_TIMEOUT_MS, polling: 100 },
  ).catch(async () => {
    const left = await page.$$eval('li.photo[data-state="processing"] .name', (els) => els.map((e) => e.textContent));
    fail(`photos still processing after ${STEP_TIMEOUT_MS / 1000} s: ${left.join(", ")}`);
  });
  log(`done: every photo finished (by ${since()})`);

  // Let the photos' images load, so the boxes are checked over them and
  // the screenshot shows them. They load lazily: bring each card into view
  // (the viewport may not hold them all when the store had older uploads).
  const ids = [...idOf.values()];
  await page.evaluate(async (ids) => {
    for (const id of ids) {
      document.getElementById(`photo-${id}`).scrollIntoView();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    window.scrollTo(0, 0);
  }, ids);
  await page.waitForFunction(
    (ids) => ids.every((id) => {
      const img = document.querySelector(`#photo-${id} img`);
      return img && img.complete && img.naturalWidth > 0;
    }),
    ids,
    { timeout: STEP_TIMEOUT_MS, polling: 100 },
  ).catch(async () => {
    const names = await page.evaluate((ids) => ids
      .map((id) => document.getElementById(`photo-${id}`))
      .filter((li) => { const img = li.querySelector("img"); return !(img && img.complete && img.naturalWidth > 0); })
      .map((li) => li.querySelector(".name").textContent), ids);
    fail(`these photos' images did not load: ${names.join(", ")}`);
  });

  for (const f of files) {
    const id = idOf.get(f.name);
    const expected = FIXTURES_EXPECTED[f.kind];
    const card = await page.evaluate((id) => {
      const li = document.getElementById(`photo-${id}`);
      if (!li) return null;
      const frame = li.querySelector(".frame");
      const fr = frame.getBoundingClientRect();
      const boxes = Array.from(frame.querySelectorAll(".face-box")).map((b) => {
        const r = b.getBoundingClientRect();
        const style = getComputedStyle(b);
        return {
          cx: (r.left + r.width / 2 - fr.left) / fr.width,
          cy: (r.top + r.height / 2 - fr.top) / fr.height,
          w: r.width,
          h: r.height,
          inside: r.left >= fr.left - 1 && r.top >= fr.top - 1 && r.right <= fr.right + 1 && r.bottom <= fr.bottom + 1,
          visible: style.display !== "none" && style.visibility !== "hidden" && parseFloat(style.borderTopWidth) > 0,
        };
      });
      return {
        state: li.dataset.state,
        faces: li.dataset.faces,
        status: li.querySelector(".status").textContent,
        detail: li.querySelector(".detail").textContent,
        boxes,
      };
    }, id);
    if (!card) fail(`${f.name}: its card is gone`);
    const want = facesText(expected.faces);
    if (card.state !== "done") fail(`${f.name}: state ${card.state} (${card.status} ${card.detail}), expected done`);
    if (card.status !== want) fail(`${f.name}: reads ${JSON.stringify(card.status)}, expected ${JSON.stringify(want)}`);
    if (card.faces !== String(expected.faces)) fail(`${f.name}: data-faces=${card.faces}, expected ${expected.faces}`);
    if (card.boxes.length !== expected.faces) {
      fail(`${f.name}: ${card.boxes.length} face boxes drawn, expected ${expected.faces}`);
    }
    for (const b of card.boxes) {
      if (!b.visible || b.w < 4 || b.h < 4) fail(`${f.name}: a face box is not visible: ${JSON.stringify(b)}`);
      if (!b.inside) fail(`${f.name}: a face box lies outside the photo: ${JSON.stringify(b)}`);
      const [ex, ey] = expected.centre;
      if (Math.abs(b.cx - ex) > CENTRE_TOLERANCE || Math.abs(b.cy - ey) > CENTRE_TOLERANCE) {
        fail(`${f.name}: face box centred at (${b.cx.toFixed(2)}, ${b.cy.toFixed(2)}), expected about (${ex.toFixed(2)}, ${ey.toFixed(2)})`);
      }
    }
    log(`  ${f.name}: Processing… → ${card.status}, ${card.boxes.length} box${card.boxes.length === 1 ? "" : "es"} drawn (${card.detail})`);
  }
  log(`checked: ${PHOTO_COUNT} photos with the right counts and boxes`);

  // A text file is refused, and the page says why.
  const countStored = () => page.evaluate(async () => (await (await fetch("api/photos")).json()).photos.length);
  const storedBefore = await countStored();
  const textName = "notes.txt";
  const textPath = join(uploadDir, textName);
  writeFileSync(textPath, "not a photo\n");
  await page.setInputFiles("#files", textPath);
  const error = page.locator("#errors .error");
  await error.first().waitFor({ state: "visible", timeout: STEP_TIMEOUT_MS })
    .catch(() => fail(`no error message appeared after uploading ${textName}`));
  const message = (await error.first().textContent()) || "";
  if (!message.includes(textName) || !/not a photo/i.test(message)) {
    fail(`the error message does not say ${textName} is not a photo: ${JSON.stringify(message)}`);
  }
  const rejected = page.locator('#gallery li.photo[data-state="rejected"]', { hasText: textName });
  await rejected.waitFor({ state: "visible", timeout: STEP_TIMEOUT_MS })
    .catch(() => fail(`${textName} has no "Not uploaded" card`));
  const rejectedStatus = await rejected.locator(".status").textContent();
  if (rejectedStatus !== "Not uploaded") fail(`${textName}'s card reads ${JSON.stringify(rejectedStatus)}`);
  // Nothing of it may have been stored.
  const storedAfter = await countStored();
  if (storedAfter !== storedBefore) {
    fail(`the gallery API lists ${storedAfter} photos after the refused upload, ${storedBefore} before`);
  }
  log(`validation: ${textName} refused with the message: ${message}`);

  mkdirSync(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true, timeout: STEP_TIMEOUT_MS });
  log(`screenshot: ${SCREENSHOT}`);

  if (pageErrors.length) fail("the page's script threw exceptions");
}
