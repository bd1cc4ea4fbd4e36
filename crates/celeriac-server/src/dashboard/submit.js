// The "Submit task" dialog (admins; tasks on the server's allowlist only).

import { post } from "./api.js";
import { fill, h, taskLink } from "./dom.js";

export function setupSubmit(app) {
  const $ = (id) => document.getElementById(id);
  const dialog = $("submit-dialog");
  const form = $("submit-form");
  const name = $("submit-name");
  const args = $("submit-args");
  const kwargs = $("submit-kwargs");
  const queue = $("submit-queue");
  const error = $("submit-error");
  const result = $("submit-result");
  const send = $("submit-send");

  $("submit-open").addEventListener("click", () => {
    fill(error);
    fill(result);
    if (!dialog.open) dialog.showModal();
    name.focus();
  });
  $("submit-close").addEventListener("click", () => dialog.close());
  // Following the link to the new task closes the dialog over it.
  result.addEventListener("click", (e) => {
    if (e.target instanceof HTMLAnchorElement) dialog.close();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    fill(error);
    fill(result);
    let parsedArgs;
    let parsedKwargs;
    try {
      parsedArgs = JSON.parse(args.value.trim() || "[]");
    } catch (e) {
      fill(error, `Positional arguments are not JSON: ${e.message}`);
      return;
    }
    if (!Array.isArray(parsedArgs)) {
      fill(error, "Positional arguments must be a JSON array, e.g. [2, 3].");
      return;
    }
    try {
      parsedKwargs = JSON.parse(kwargs.value.trim() || "{}");
    } catch (e) {
      fill(error, `Keyword arguments are not JSON: ${e.message}`);
      return;
    }
    if (parsedKwargs === null || typeof parsedKwargs !== "object" || Array.isArray(parsedKwargs)) {
      fill(error, 'Keyword arguments must be a JSON object, e.g. {"x": 1}.');
      return;
    }
    const options = {};
    if (queue.value.trim()) options.queue = queue.value.trim();
    send.disabled = true;
    try {
      const sent = await post("api/tasks", { name: name.value, args: parsedArgs, kwargs: parsedKwargs, options });
      result.dataset.taskId = sent.id;
      fill(result, `Sent ${name.value}: `, taskLink(sent.id, true));
      app.notify(`Sent ${name.value} as ${sent.id}.`);
      app.requestRefresh();
    } catch (e) {
      fill(error, `Not sent: ${e.message}`);
    } finally {
      send.disabled = false;
    }
  });

  return {
    /** Fills the task choice from the server's allowlist. */
    configure() {
      const names = app.info.submit_allowlist || [];
      const chosen = name.value;
      fill(name, names.map((n) => h("option", { value: n }, n)));
      if (names.includes(chosen)) name.value = chosen;
    },
  };
}
