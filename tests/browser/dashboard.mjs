// Browser test of the dashboard (`/` in `celeriac serve`), in headless
// Chromium driven by playwright-core:
//
//   DASHBOARD_TOKEN=<admin token> node tests/browser/dashboard.mjs BASE_URL ARTIFACT_DIR STATE_FILE
//   DASHBOARD_TOKEN=<read-only token> node tests/browser/dashboard.mjs --after-restart BASE_URL ARTIFACT_DIR STATE_FILE
//
// The first run signs in as an admin and, through the page only, submits
// celeriac.add [2, 3], sees it reach SUCCESS in the task table and result 5
// in its detail, submits celeriac.fail, finds it in the dead letters,
// retries it and sees it fail a second time, pauses and resumes a queue,
// and saves screenshots (ARTIFACT_DIR/dashboard-*.png). It writes the ids
// of its tasks to STATE_FILE. With --after-restart (a restarted server on
// the same store and history) it signs in read-only, checks those tasks are
// still listed and that no admin control is shown.
//
// Exits non-zero with a message on the first failed expectation; every
// wait has a timeout, and a watchdog ends the whole run.
// crates/celeriac-cli/tests/dashboard_browser.rs starts the server and runs it.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const argv = process.argv.slice(2);
const AFTER_RESTART = argv[0] === "--after-restart";
if (AFTER_RESTART) argv.shift();
const BASE_URL = (argv[0] || "").replace(/\/+$/, "");
const ARTIFACTS = argv[1] || "";
const STATE_FILE = argv[2] || "";
const TOKEN = process.env.DASHBOARD_TOKEN || "";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

const STEP_TIMEOUT_MS = 30_000;
const TOTAL_TIMEOUT_MS = 150_000;
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

// A failed expectation. Thrown, not exited on, so the browser is closed.
class Failure extends Error {}

function fail(message) {
  throw new Failure(message);
}

function log(message) {
  console.log(message);
}

if (!BASE_URL || !ARTIFACTS || !STATE_FILE || !TOKEN) {
  console.error("usage: DASHBOARD_TOKEN=<token> node dashboard.mjs [--after-restart] BASE_URL ARTIFACT_DIR STATE_FILE");
  process.exit(2);
}

const watchdog = setTimeout(() => {
  console.error(`FAIL: the browser test did not finish within ${TOTAL_TIMEOUT_MS / 1000} s`);
  process.exit(3);
}, TOTAL_TIMEOUT_MS);

let browser;
const pageErrors = [];
try {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking"],
    timeout: STEP_TIMEOUT_MS,
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") log(`  browser console: ${m.text()} (${m.location().url || "?"})`);
  });
  // Anything the page's policy blocks is a bug in the page (inline style,
  // a script from elsewhere): collect the violations.
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI || ""}`.trim());
    });
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  if (AFTER_RESTART) await afterRestart(page);
  else await fullRun(page);
  const violations = await page.evaluate(() => window.__cspViolations);
  if (violations.length) fail(`the Content-Security-Policy blocked: ${violations.join("; ")}`);
  if (pageErrors.length) fail("the page's script threw exceptions");
  clearTimeout(watchdog);
  log("PASS");
} catch (e) {
  console.error(`FAIL: ${e instanceof Failure ? e.message : e && e.stack ? e.stack : e}`);
  if (pageErrors.length) console.error(`the page's script threw: ${pageErrors.join("; ")}`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  clearTimeout(watchdog);
}

/** A wait that fails with `message` (and what `detail()` says) on timeout. */
async function expect(what, promise, detail) {
  try {
    return await promise;
  } catch (e) {
    const extra = detail ? await detail().catch((err) => `(could not describe: ${err})`) : "";
    fail(`${what}${extra ? `: ${extra}` : ""} (${String(e.message || e).split("\n")[0]})`);
  }
}

async function shot(page, name) {
  const path = join(ARTIFACTS, `dashboard-${name}.png`);
  await page.screenshot({ path, fullPage: true, timeout: STEP_TIMEOUT_MS });
  log(`  screenshot: ${path}`);
}

const rowsText = (page, selector) =>
  page.$$eval(selector, (rows) => rows.slice(0, 8).map((r) => r.innerText.replace(/\s+/g, " ").trim()).join(" | ") || "(none)");

async function open(page) {
  const response = await page.goto(`${BASE_URL}/`, { waitUntil: "load" });
  if (!response || !response.ok()) fail(`GET / answered ${response && response.status()}`);
  const csp = response.headers()["content-security-policy"];
  if (csp !== CSP) fail(`GET / has Content-Security-Policy ${JSON.stringify(csp)}, expected ${JSON.stringify(CSP)}`);
  log(`opened ${BASE_URL}/ (CSP as expected)`);
}

async function signIn(page, role) {
  await expect("the sign-in form did not appear", page.getByTestId("signin-form").waitFor());
  await page.getByTestId("signin-token").fill(TOKEN);
  await page.getByTestId("signin-submit").click();
  await expect(`the ${role} role badge did not appear after signing in`, page.locator(`[data-testid="role"]:text-is("${role}")`).waitFor(),
    async () => `signin error ${JSON.stringify(await page.getByTestId("signin-error").textContent().catch(() => null))}`);
  log(`signed in: role ${role}`);
}

/** Navigates with the page's own tab link, as a user would. */
async function tab(page, name) {
  await page.getByTestId(`nav-${name}`).click();
  await expect(`the ${name} view did not load`, page.locator(`[data-testid="view-${name === "dead" ? "dead" : name}"][data-loaded="true"]`).waitFor());
}

/** Sends a task through the page's "Submit task" dialog; returns its id. */
async function submitTask(page, name, args) {
  await page.getByTestId("submit-open").click();
  await page.getByTestId("submit-name").selectOption(name);
  await page.getByTestId("submit-args").fill(args);
  await page.getByTestId("submit-kwargs").fill("{}");
  await page.getByTestId("submit-queue").fill("");
  await page.getByTestId("submit-send").click();
  const result = page.locator('[data-testid="submit-result"][data-task-id]');
  await expect(`submitting ${name} ${args} showed no task id`, result.waitFor(),
    async () => `the dialog says ${JSON.stringify(await page.getByTestId("submit-error").textContent())}`);
  const id = await result.getAttribute("data-task-id");
  // Clear the marker so the next submission is told apart.
  await page.evaluate(() => delete document.querySelector('[data-testid="submit-result"]').dataset.taskId);
  await page.getByTestId("submit-close").click();
  log(`submitted ${name} ${args} from the dialog: ${id}`);
  return id;
}

async function fullRun(page) {
  await open(page);

  // A wrong token is refused with a message.
  await expect("the sign-in form did not appear", page.getByTestId("signin-form").waitFor());
  await page.getByTestId("signin-token").fill("not-the-token-0123456789");
  await page.getByTestId("signin-submit").click();
  await expect("no message for a wrong token", page.locator('[data-testid="signin-error"]:has-text("not valid")').waitFor());
  log("a wrong token is refused with a message");
  await signIn(page, "admin");

  // Header: version, broker, the photo app, sign-out.
  const meta = (await page.getByTestId("server-meta").textContent()) || "";
  if (!/v\d+\.\d+/.test(meta) || !meta.includes("sqlite")) fail(`the header does not show version and broker: ${JSON.stringify(meta)}`);
  const photos = page.locator('[data-testid="app-link"][href="/photos/"]');
  await expect("no link to the photo app at /photos/", photos.waitFor());
  log(`header: ${meta.trim()}; app link "${(await photos.textContent()).trim()}" → /photos/`);
  if (!(await page.getByTestId("signout").isVisible())) fail("no sign-out button");

  // The page must update by itself from here on: mark this document.
  await page.evaluate(() => {
    window.__sameDocument = true;
  });
  const notReloaded = async () => {
    if (!(await page.evaluate(() => window.__sameDocument === true))) fail("the page reloaded; it should update in place");
  };

  // 1. celeriac.add [2, 3] reaches SUCCESS in the table, and 5 in its detail.
  const addId = await submitTask(page, "celeriac.add", "[2, 3]");
  await tab(page, "tasks");
  const addRow = page.locator(`[data-testid="task-row"][data-task-id="${addId}"]`);
  await expect(`${addId} did not reach SUCCESS in the task table`, page.locator(`[data-testid="task-row"][data-task-id="${addId}"][data-state="SUCCESS"]`).waitFor(),
    () => rowsText(page, '[data-testid="task-row"]'));
  const outcome = (await addRow.getByTestId("task-outcome").textContent()) || "";
  if (outcome.trim() !== "5") fail(`the task table shows result ${JSON.stringify(outcome)} for celeriac.add [2, 3]`);
  await notReloaded();
  log("task table: celeriac.add reached SUCCESS, result 5 (updated live)");

  // Filters: by state and by search.
  await page.getByTestId("filter-state").selectOption("SUCCESS");
  await expect("filtering by SUCCESS did not list only SUCCESS tasks, the new one among them", page.waitForFunction((id) => {
    const rows = [...document.querySelectorAll('[data-testid="task-row"]')];
    return rows.some((r) => r.dataset.taskId === id) && rows.every((r) => r.dataset.state === "SUCCESS");
  }, addId), () => rowsText(page, '[data-testid="task-row"]'));
  if (!(await page.evaluate(() => location.hash)).includes("state=SUCCESS")) fail("the state filter is not in the address");
  await page.getByTestId("filter-clear").click();
  // The end of the id: ids are time-ordered, so their starts are shared.
  await page.getByTestId("filter-search").fill(addId.slice(-12));
  await expect("searching by part of the id did not narrow the table to the task", page.waitForFunction((id) => {
    const rows = [...document.querySelectorAll('[data-testid="task-row"]')];
    return rows.length === 1 && rows[0].dataset.taskId === id;
  }, addId));
  await page.getByTestId("filter-clear").click();
  log("task table: state filter and search work");
  await addRow.waitFor();
  await shot(page, "tasks");

  await addRow.click();
  await expect("the task detail did not open", page.locator(`[data-testid="view-task"][data-task-id="${addId}"][data-loaded="true"]`).waitFor());
  const hash = await page.evaluate(() => location.hash);
  if (hash !== `#/task/${addId}`) fail(`the detail's address is ${hash}, expected #/task/${addId}`);
  const result = ((await page.getByTestId("task-result").textContent()) || "").trim();
  if (result !== "5") fail(`the detail shows result ${JSON.stringify(result)}, expected 5`);
  const args = ((await page.getByTestId("task-args").textContent()) || "").replace(/\s/g, "");
  if (args !== "[2,3]") fail(`the detail shows args ${JSON.stringify(args)}`);
  const events = await page.$$eval('[data-testid="timeline-row"]', (rows) => rows.map((r) => r.dataset.type));
  for (const t of ["task-received", "task-started", "task-succeeded"]) {
    if (!events.includes(t)) fail(`the timeline lacks ${t}: ${events.join(", ")}`);
  }
  log(`task detail: result 5, args [2, 3], timeline ${events.join(" → ")}`);
  await shot(page, "task-detail");

  // 2. celeriac.fail lands in the dead letters; Retry runs it again.
  const failId = await submitTask(page, "celeriac.fail", '["the dashboard test fails on purpose"]');
  await tab(page, "dead");
  const deadRow = page.locator(`[data-testid="dead-row"][data-task-id="${failId}"]`);
  await expect(`${failId} did not appear in the dead letters`, deadRow.waitFor(), () => rowsText(page, '[data-testid="dead-row"]'));
  const reason = (await deadRow.getByTestId("dead-reason").textContent()) || "";
  if (!reason.trim()) fail("the dead letter shows no reason");
  await expect("the Dead letters tab does not count it", page.waitForFunction(() => Number(document.querySelector('[data-testid="dead-count"]').dataset.count) >= 1));
  const deadBadge = await page.getByTestId("dead-count").getAttribute("data-count");
  log(`dead letters: ${failId} listed (reason: ${reason.trim()}); tab badge ${deadBadge}`);
  await notReloaded();
  await shot(page, "dead-letters");

  const diedAt = await deadRow.getAttribute("data-dead-at");
  await deadRow.getByTestId("dead-retry").click();
  await expect("no confirmation of the retry", page.locator('[data-testid="flash-ok"]:has-text("Retried")').waitFor(),
    async () => `flash says ${JSON.stringify(await page.getByTestId("flash").textContent())}`);
  // It runs again, fails again and is dead again: its timeline shows two failures.
  await expect(`${failId} did not fail a second time after the retry`, page.waitForFunction(async (id) => {
    const r = await fetch(`api/tasks/${id}`, { cache: "no-store" });
    const d = await r.json();
    return d.timeline.filter((e) => e.type === "task-failed").length >= 2;
  }, failId, { polling: 250 }));
  // Failed again for good, it is a dead letter again, and the view shows it
  // without a reload.
  const deadAgain = page.locator(`[data-testid="dead-row"][data-task-id="${failId}"]:not([data-dead-at="${diedAt}"])`);
  await expect(`${failId} is not back in the dead letters after failing again`, deadAgain.waitFor(), () => rowsText(page, '[data-testid="dead-row"]'));
  await deadAgain.getByTestId("task-link").click();
  await expect("the failed task's detail did not open", page.locator(`[data-testid="view-task"][data-task-id="${failId}"][data-loaded="true"]`).waitFor());
  await expect("the failed task's timeline does not show a second task-failed",
    page.waitForFunction(() => document.querySelectorAll('[data-testid="timeline-row"][data-type="task-failed"]').length >= 2),
    async () => (await page.$$eval('[data-testid="timeline-row"]', (rows) => rows.map((r) => r.dataset.type))).join(", "));
  const exception = (await page.getByTestId("task-exception").textContent()) || "";
  if (!exception.includes("the dashboard test fails on purpose")) fail(`the failed task's error reads ${JSON.stringify(exception)}`);
  log(`retry: ${failId} ran again, its timeline shows task-failed twice; error: ${exception.trim()}`);

  // 3. Pause and resume the celery queue from the Queues view.
  await tab(page, "queues");
  const queueRow = page.locator('[data-testid="queue-row"][data-queue="celery"]');
  await expect("the celery queue is not listed", queueRow.waitFor(), () => rowsText(page, '[data-testid="queue-row"]'));
  const apiPaused = () => page.evaluate(async () => {
    const r = await fetch("api/queues", { cache: "no-store" });
    return (await r.json()).queues.find((q) => q.name === "celery").paused;
  });
  if ((await queueRow.getByTestId("queue-state").textContent()) !== "Active" || (await apiPaused())) fail("the celery queue starts paused");
  await queueRow.getByTestId("queue-toggle").click();
  await expect("the celery queue did not show Paused", page.locator('[data-testid="queue-row"][data-queue="celery"][data-paused="true"] [data-testid="queue-state"]:text-is("Paused")').waitFor());
  if (!(await apiPaused())) fail("the page shows celery paused, /api/queues does not");
  if ((await queueRow.getByTestId("queue-toggle").textContent()) !== "Resume") fail("a paused queue offers no Resume button");
  log("queues: celery paused (UI and /api/queues agree)");
  await shot(page, "queues");
  await queueRow.getByTestId("queue-toggle").click();
  await expect("the celery queue did not show Active again", page.locator('[data-testid="queue-row"][data-queue="celery"][data-paused="false"] [data-testid="queue-state"]:text-is("Active")').waitFor());
  if (await apiPaused()) fail("the page shows celery resumed, /api/queues says paused");
  log("queues: celery resumed (UI and /api/queues agree)");

  // 4. The overview: counters and charts drawn from the history.
  await tab(page, "overview");
  await expect("the throughput chart shows no finished task", page.locator('[data-testid="chart-throughput"]:not([data-points="0"])').waitFor());
  for (const id of ["chart-failures", "chart-latency", "chart-queues"]) {
    if (!(await page.getByTestId(id).locator("svg").isVisible())) fail(`${id} is not drawn`);
  }
  const failures = Number((await page.getByTestId("counter-failures-value").textContent()).replace(/\D/g, ""));
  if (!(failures >= 1)) fail(`the failures counter shows ${failures}, expected the failed task`);
  const workers = ((await page.getByTestId("counter-workers-value").textContent()) || "").trim();
  if (!/^[1-9]\d* \/ /.test(workers)) fail(`the workers counter shows ${JSON.stringify(workers)}, expected a live worker`);
  // Let a few queue samples accumulate for the depth chart.
  await page.waitForTimeout(3500);
  await notReloaded();
  log(`overview: failures ${failures}, workers alive ${workers}, charts drawn`);
  await shot(page, "overview");

  // 5. Workers view lists the in-process worker as alive.
  await tab(page, "workers");
  await expect("no live worker listed", page.locator('[data-testid="worker-row"][data-alive="true"]').first().waitFor(), () => rowsText(page, '[data-testid="worker-row"]'));
  log("workers: the in-process worker is alive");

  writeFileSync(STATE_FILE, JSON.stringify({ tasks: [addId, failId] }));
}

async function afterRestart(page) {
  const state = JSON.parse(readFileSync(STATE_FILE, "utf8"));
  await open(page);
  await signIn(page, "read-only");
  await tab(page, "tasks");
  for (const id of state.tasks) {
    await expect(`${id}, run before the restart, is not listed`, page.locator(`[data-testid="task-row"][data-task-id="${id}"]`).waitFor(),
      () => rowsText(page, '[data-testid="task-row"]'));
  }
  const states = await page.$$eval('[data-testid="task-row"]', (rows, ids) => rows.filter((r) => ids.includes(r.dataset.taskId)).map((r) => `${r.dataset.taskId}=${r.dataset.state}`), state.tasks);
  log(`after the restart the task table still lists ${states.join(", ")}`);
  await shot(page, "after-restart");

  // Read-only: no control that changes anything.
  if (await page.getByTestId("submit-open").isVisible()) fail("a read-only user sees Submit task");
  await tab(page, "queues");
  await page.locator('[data-testid="queue-row"]').first().waitFor();
  if (await page.getByTestId("queue-toggle").count()) fail("a read-only user sees Pause/Resume");
  await tab(page, "dead");
  await page.locator('[data-testid="dead-row"]').first().waitFor();
  if (await page.getByTestId("dead-retry").count()) fail("a read-only user sees Retry");
  if (await page.getByTestId("dead-retry-all").count()) fail("a read-only user sees Retry all");
  await page.locator(`[data-testid="dead-row"] [data-testid="task-link"]`).first().click();
  await page.locator('[data-testid="view-task"][data-loaded="true"]').waitFor();
  if (await page.getByTestId("task-revoke").count()) fail("a read-only user sees Revoke");
  log("read-only: no submit, pause, retry or revoke controls");

  // Signing out returns to the form.
  await page.getByTestId("signout").click();
  await expect("signing out did not show the sign-in form", page.getByTestId("signin-form").waitFor());
  log("signed out");
}
