// The videomock dashboard: reads and steers the fake through its admin API, nothing else.
// Hand-written, no dependencies, no build step. Every piece of text from the server is set with
// textContent, never as HTML: journal bodies hold whatever clients sent.
"use strict";

const ADMIN = location.pathname.replace(/\/ui\/?$/, "");
const TOKEN_KEY = "videomock.admin-token";
const TOKEN_HEADER = "X-Videomock-Admin-Token";
const POLL_MS = 1000;
const TOKEN_REQUIRED = document.body.dataset.adminToken === "required";

const $ = (selector) => document.querySelector(selector);

/** A request the server refused for want of the admin token. */
class Refused extends Error {}

async function api(path, { method = "GET", body } = {}) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers[TOKEN_HEADER] = token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(ADMIN + path, {
    method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  const error = data && data.error;
  if (response.status === 401 && error && error.code === "invalid_admin_token") throw new Refused(error.message);
  if (!response.ok) {
    const failure = new Error(error ? error.message : `HTTP ${response.status}`);
    failure.param = error && error.param;
    throw failure;
  }
  return data;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

function when(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

const timeOfDay = (seconds) => (seconds === null || seconds === undefined ? "—" : when(seconds).slice(11, 19));
const json = (value) => JSON.stringify(value, null, 2);

function badge(status) {
  return el("span", { class: `status ${status}`, text: status });
}

/** Bring ``container``'s children in line with ``items``, keyed: a row that stays keeps its node (and focus). */
function reconcile(container, items, keyOf, create, update) {
  const existing = new Map([...container.children].map((node) => [node.dataset.key, node]));
  let previous = null;
  for (const item of items) {
    const key = keyOf(item);
    let node = existing.get(key);
    if (node) existing.delete(key);
    else { node = create(item); node.dataset.key = key; }
    update(node, item);
    const expected = previous ? previous.nextSibling : container.firstChild;
    if (node !== expected) container.insertBefore(node, expected);
    previous = node;
  }
  for (const node of existing.values()) node.remove();
}

// --- notices and confirmation ----------------------------------------------------------------------------

let noticeFromPolling = false;

function notice(text, { info = false, polling = false } = {}) {
  const box = $("#notice");
  box.className = info ? "info" : "";
  setText(box, text);
  noticeFromPolling = polling;
}

function confirmAction(text, action) {
  const dialog = $("#confirm");
  setText($("#confirm-text"), text);
  setText($("#confirm-ok"), action);
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}

/** Run a user's action: its failure is shown, its success refreshes the view at once. */
async function act(action, success) {
  try {
    await action();
    if (success) notice(success, { info: true });
  } catch (error) {
    if (error instanceof Refused) askForToken(error.message);
    else notice(error.message);
    return;
  }
  refresh();
}

// --- journal entries (the journal view and a task's page) ---------------------------------------------

function entryKey(entry) {
  return `${entry.time}|${entry.method}|${entry.path}|${entry.status}`;
}

function journalEntry(entry) {
  const faults = entry.fault || [];
  const section = (title, value) => el("div", {}, el("h4", { text: title }), el("pre", { text: json(value) }));
  return el("details", {},
    el("summary", {},
      el("span", { text: timeOfDay(entry.virtual_time), title: `virtual ${when(entry.virtual_time)}` }),
      el("strong", { text: entry.method }),
      el("span", { class: "path", text: entry.path + (entry.query ? `?${entry.query}` : "") }),
      el("span", { class: `status ${entry.status >= 400 ? "failed" : "completed"}`, text: String(entry.status) }),
      entry.endpoint ? el("span", { text: entry.endpoint }) : null,
      entry.key ? el("span", { class: "id", text: entry.key }) : null,
      ...faults.map((fault) => el("span", { class: "fault-tag", text: `${fault.rule}: ${fault.type}` }))),
    el("div", { class: "body" },
      section("Request body", entry.request_body),
      section("Response body", entry.response_body),
      faults.length ? section("Faults applied", faults) : null,
      section("Details", { task_id: entry.task_id, model: entry.model, duration_ms: entry.duration_ms,
        time: when(entry.time), virtual_time: when(entry.virtual_time) })));
}

function showEntries(container, entries) {
  reconcile(container, [...entries].reverse(), entryKey, journalEntry, () => {});
}

// --- tasks -------------------------------------------------------------------------------------------------

const TASK_COLUMNS = ["Task", "Dialect", "Key", "Model", "Status", "Progress", "Created", "Finished"];

function setOptions(select, values) {
  const known = new Set([...select.options].map((option) => option.value));
  for (const value of [...values].sort()) {
    if (!known.has(value)) select.append(el("option", { value, text: value }));
  }
}

function taskRow(task) {
  const cells = TASK_COLUMNS.map((label) => el("td", { "data-label": label }));
  cells[0].className = "id";
  cells[0].append(el("a", { href: `#task/${encodeURIComponent(task.task_id)}`, text: task.task_id, title: task.task_id }));
  cells[2].className = "id";
  cells[4].append(badge(task.status));
  cells[5].append(el("progress", { max: "100", value: "0", "aria-label": `progress of ${task.task_id}` }), " ",
    el("span"));
  return el("tr", {}, ...cells);
}

function updateTaskRow(row, task) {
  const cells = row.children;
  setText(cells[1], task.dialect);
  setText(cells[2], task.key);
  setText(cells[3], task.model);
  const status = cells[4].firstChild;
  status.className = `status ${task.status}`;
  setText(status, task.status);
  cells[5].querySelector("progress").value = task.progress;
  setText(cells[5].querySelector("span"), `${task.progress}%`);
  setText(cells[6], timeOfDay(task.created_at));
  cells[6].title = when(task.created_at);
  setText(cells[7], timeOfDay(task.completed_at));
  cells[7].title = when(task.completed_at);
}

async function loadTasks() {
  const { tasks } = await api("/tasks");
  const filters = $("#task-filters");
  setOptions(filters.model, new Set(tasks.map((task) => task.model)));
  setOptions(filters.key, new Set(tasks.map((task) => task.key)));
  const wanted = { status: filters.status.value, model: filters.model.value, key: filters.key.value };
  const shown = tasks.filter((task) => Object.entries(wanted).every(([name, value]) => !value || task[name] === value));
  reconcile($("#tasks-table tbody"), shown.reverse(), (task) => task.task_id, taskRow, updateTaskRow);
  setText($("#tasks-count"), shown.length === tasks.length ? `(${tasks.length})` : `(${shown.length} of ${tasks.length})`);
  $("#tasks-empty").hidden = shown.length > 0;
}

// --- one task ----------------------------------------------------------------------------------------------

let shownMediaFor = null;

function fillList(list, pairs) {
  list.replaceChildren(...pairs.flatMap(([term, value]) => [el("dt", { text: term }),
    value instanceof Node ? el("dd", {}, value) : el("dd", { text: String(value) })]));
}

function showMedia(task) {
  const video = $("#task-video");
  const thumbnail = $("#task-thumbnail");
  if (shownMediaFor !== task.task_id) {
    video.removeAttribute("src");
    video.load();
    thumbnail.removeAttribute("src");
    shownMediaFor = task.task_id;
  }
  const ready = task.media !== null;
  video.hidden = thumbnail.hidden = !ready;
  $("#task-media-wait").hidden = ready;
  if (ready && !video.getAttribute("src")) {
    video.src = task.media.video;
    thumbnail.src = task.media.thumbnail;
    thumbnail.alt = `Thumbnail of task ${task.task_id}`;
  }
}

function delivery(record) {
  const last = record.attempts[record.attempts.length - 1];
  return el("tr", {},
    el("td", { text: record.type || record.status }),
    el("td", { text: record.target.name || record.target.url, title: record.target.url }),
    el("td", {}, badge(record.state)),
    el("td", { text: timeOfDay(record.due), title: when(record.due) }),
    el("td", { text: last ? `${record.attempts.length} (last: ${last.status ?? last.error})` : "0" }));
}

async function loadTask(taskId, clock) {
  const query = `task_id=${encodeURIComponent(taskId)}`;
  const [task, { requests }, { deliveries }] = await Promise.all([
    api(`/tasks/${encodeURIComponent(taskId)}`), api(`/requests?${query}`), api(`/webhooks/deliveries?${query}`)]);
  const title = $("#task-title");
  title.replaceChildren(`Task ${task.task_id} `, badge(task.status));
  fillList($("#task-summary"), [
    ["Dialect", task.dialect], ["Model", task.model], ["Key", task.key],
    ["Progress", el("span", {}, el("progress", { max: "100", value: String(task.progress), "aria-label": "progress" }),
      ` ${task.progress}%`)], ["Created", when(task.created_at)], ["Completed", when(task.completed_at)],
    ["Error", task.error ? `${task.error.code}: ${task.error.message}` : "—"], ["Video rendered", task.rendered ? "yes" : "no"],
  ]);
  const steps = [
    ["Submitted", task.created_at, `queued for ${task.queue_seconds} s`],
    ["Starts rendering", task.started_at, `renders for ${task.render_seconds} s`],
    ["Due to finish", task.finishes_at, task.plan.outcome === "complete" ? "then completed" : `plan: ${task.plan.outcome}`],
  ];
  $("#task-timeline").replaceChildren(...steps.map(([label, at, note]) =>
    el("li", { class: clock.now >= at ? "now" : null, text: `${label} at ${when(at)} (${note})` })),
  el("li", { text: `Now ${when(clock.now)}` }));
  setText($("#task-plan"), json(task.plan));
  const submit = requests.find((entry) => entry.endpoint === "submit");
  setText($("#task-request"), json(submit ? { "as sent": submit.request_body, "with defaults": task.params } : task.params));
  const applied = requests.flatMap((entry) => (entry.fault || []).map((fault) => [entry, fault]));
  $("#task-faults").replaceChildren(...(applied.length ? applied.map(([entry, { rule, match, type, ...settings }]) =>
    el("li", { text: `${type} ${JSON.stringify(settings)}, rule ${rule} (match ${match ?? "—"}), on ${entry.method} `
      + `${entry.path} → ${entry.status} at ${timeOfDay(entry.virtual_time)}` }))
    : [el("li", { class: "empty", text: "None." })]));
  $("#task-deliveries tbody").replaceChildren(...(deliveries.length ? deliveries.map(delivery)
    : [el("tr", {}, el("td", { colspan: "5", class: "empty", text: "None." }))]));
  showEntries($("#task-requests"), requests);
  showMedia(task);
}

// --- journal ---------------------------------------------------------------------------------------------

let journalQuery = "limit=200";

async function loadJournal() {
  const { requests } = await api(`/requests?${journalQuery}`);
  showEntries($("#journal-entries"), requests);
  setText($("#journal-count"), `(${requests.length})`);
  $("#journal-empty").hidden = requests.length > 0;
}

$("#journal-filters").addEventListener("submit", (event) => {
  event.preventDefault();
  const query = new URLSearchParams();
  for (const [name, value] of new FormData(event.target)) if (value.trim()) query.set(name, value.trim());
  journalQuery = query.toString();
  $("#journal-entries").replaceChildren();
  refresh();
});

// --- faults: the rules, and a form built from the config schema ---------------------------------------------

let faultForm = null;

function resolve(root, schema) {
  return schema.$ref ? schema.$ref.slice(2).split("/").reduce((node, part) => node[part], root) : schema;
}

/** One input for ``schema`` (a property of a rule or an action): {node, read} where read() is the value or undefined. */
function field(id, name, schema, required) {
  const help = [schema.description, schema.default !== undefined ? `Default: ${JSON.stringify(schema.default)}.` : ""]
    .filter(Boolean).join(" ");
  const helpNode = help ? el("span", { class: "help", id: `${id}-help`, text: help }) : null;
  const choices = schema.oneOf ? (schema.oneOf.find((branch) => branch.type === "array") || schema.oneOf[0]) : schema;
  if (choices.type === "array") {
    const boxes = choices.items.enum.map((value) => el("input", { type: "checkbox", value: String(value), name: id }));
    const node = el("fieldset", { class: "field", "aria-describedby": helpNode ? `${id}-help` : null },
      el("legend", { text: name }),
      el("div", { class: "choices" }, ...boxes.map((box) => el("label", {}, box, box.value))), helpNode);
    return { node, read: () => {
      const checked = boxes.filter((box) => box.checked).map((box) => box.value);
      return checked.length ? checked : undefined;
    } };
  }
  let input;
  let parse = (text) => text;
  if (choices.enum) {
    input = el("select", { id, required },
      el("option", { value: "", text: required ? "choose…" : "—" }),
      ...choices.enum.map((value) => el("option", { value: String(value), text: String(value) })));
    parse = (text) => choices.enum.find((value) => String(value) === text);
  } else if (choices.type === "integer" || choices.type === "number") {
    input = el("input", { id, type: "number", required, inputmode: "decimal",
      step: choices.type === "integer" ? "1" : "any",
      min: choices.minimum ?? choices.exclusiveMinimum, max: choices.maximum ?? choices.exclusiveMaximum,
      placeholder: choices.default !== undefined ? String(choices.default) : null });
    parse = Number;
  } else {
    input = el("input", { id, type: "text", required, minlength: choices.minLength, maxlength: choices.maxLength,
      placeholder: choices.default !== undefined ? String(choices.default) : null });
  }
  if (helpNode) input.setAttribute("aria-describedby", `${id}-help`);
  const node = el("div", { class: "field" }, el("label", { for: id, text: name + (required ? " *" : "") }), input, helpNode);
  return { node, read: () => (input.value === "" ? undefined : parse(input.value)) };
}

function fields(prefix, schema, skip = []) {
  const required = new Set(schema.required || []);
  return Object.entries(schema.properties || {}).filter(([name]) => !skip.includes(name))
    .map(([name, property]) => [name, field(`${prefix}-${name}`, name, property, required.has(name))]);
}

function read(pairs) {
  return Object.fromEntries(pairs.map(([name, input]) => [name, input.read()]).filter(([, value]) => value !== undefined));
}

function buildFaultForm(schema) {
  const rule = schema.$defs.rule;
  const actions = resolve(schema, rule.properties.action).oneOf;
  const ruleFields = fields("fault-rule", rule, ["action"]);
  $("#fault-rule-fields").replaceChildren(...ruleFields.map(([, input]) => input.node));
  setText($("#fault-form-hint"), `${rule.description} Built from the config schema (contracts/schemas/config.schema.json).`);
  const type = el("select", { id: "fault-action-type", required: true },
    ...actions.map((branch) => el("option", { value: branch.properties.type.const, text: branch.properties.type.const })));
  const typeHelp = el("span", { class: "help", id: "fault-action-type-help" });
  type.setAttribute("aria-describedby", "fault-action-type-help");
  const branchFields = el("div", { class: "fields" });
  const form = { rule: ruleFields, action: [], type };
  const pick = () => {
    const branch = actions.find((candidate) => candidate.properties.type.const === type.value);
    setText(typeHelp, branch.description || "");
    form.action = fields(`fault-action-${type.value}`, branch, ["type"]);
    branchFields.replaceChildren(...form.action.map(([, input]) => input.node));
  };
  type.addEventListener("change", pick);
  $("#fault-action-fields").replaceChildren(
    el("div", { class: "field" }, el("label", { for: "fault-action-type", text: "type *" }), type, typeHelp), branchFields);
  pick();
  return form;
}

$("#fault-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const rule = { ...read(faultForm.rule), action: { type: faultForm.type.value, ...read(faultForm.action) } };
  act(() => api("/faults", { method: "POST", body: rule }), "Rule added.");
});

function ruleMatches(rule) {
  const parts = ["endpoint", "model", "key", "prompt_contains", "probability", "times", "every", "after"]
    .filter((name) => rule[name] !== undefined).map((name) => `${name}=${[].concat(rule[name]).join(",")}`);
  return parts.join(" ") || "every request";
}

function faultRow(rule) {
  const remove = el("button", { type: "button", class: "danger", text: "Remove", "aria-label": `Remove rule ${rule.id}`,
    onclick: () => act(() => api(`/faults/${encodeURIComponent(rule.id)}`, { method: "DELETE" }), `Rule ${rule.id} removed.`) });
  return el("tr", {}, el("td", { class: "id", text: rule.id }), el("td"), el("td"), el("td"), el("td", { class: "fired" }),
    el("td", {}, remove));
}

function updateFaultRow(row, rule) {
  const { type, ...settings } = rule.action;
  setText(row.children[1], ruleMatches(rule));
  setText(row.children[2], Object.keys(settings).length ? `${type} ${JSON.stringify(settings)}` : type);
  setText(row.children[3], String(rule.matched));
  setText(row.children[4], String(rule.fired));
}

async function loadFaults() {
  if (faultForm === null) faultForm = buildFaultForm(await api("/config/schema"));
  const { faults } = await api("/faults");
  reconcile($("#faults-table tbody"), faults, (rule) => rule.id, faultRow, updateFaultRow);
  $("#faults-empty").hidden = faults.length > 0;
  $("#clear-faults").disabled = faults.length === 0;
}

$("#clear-faults").addEventListener("click", async () => {
  if (await confirmAction("Remove every fault rule?", "Remove all")) {
    act(() => api("/faults", { method: "DELETE" }), "Every rule removed.");
  }
});

// --- clock ------------------------------------------------------------------------------------------------

async function loadClock(_, clock) {
  fillList($("#clock-state"), [["Mode", clock.mode], ["Speed", clock.mode === "speed" ? `${clock.speed}x` : "—"],
    ["Virtual time", when(clock.now)], ["Unix seconds", clock.now.toFixed(3)]]);
}

$("#advance-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const seconds = Number(event.target.seconds.value);
  act(async () => {
    const { now } = await api("/clock/advance", { method: "POST", body: { seconds } });
    notice(`Advanced ${seconds} s, to ${when(now)}.`, { info: true });
  });
});

$("#reset").addEventListener("click", async () => {
  if (await confirmAction("Reset the fake? Every task, the journal, deliveries, counters and the clock are forgotten.", "Reset")) {
    act(() => api("/reset", { method: "POST" }), "The fake was reset.");
  }
});

// --- views, polling and the token ------------------------------------------------------------------------

const VIEWS = { tasks: loadTasks, task: loadTask, journal: loadJournal, faults: loadFaults, clock: loadClock };
let current = { name: "tasks", arg: null };
let timer = null;
let running = false;
let again = false;
let waitingForToken = false;

/** Load the current view, then again every POLL_MS. One load at a time: a refresh asked for during one runs
 * right after it, so an answer read before an action (a reset) never lands on the page after the action's. */
async function refresh() {
  clearTimeout(timer);
  if (waitingForToken) return;
  if (running) { again = true; return; }
  running = true;
  try {
    const clock = await api("/clock");
    setText($("#clock-line"), `clock ${clock.mode}${clock.mode === "speed" ? ` ${clock.speed}x` : ""} · ${when(clock.now)}`);
    await VIEWS[current.name](current.arg, clock);
    if (noticeFromPolling) notice("");
  } catch (error) {
    if (error instanceof Refused) askForToken(error.message);
    else notice(error.message, { polling: true });
  } finally {
    running = false;
  }
  if (again) { again = false; refresh(); }
  else if (!waitingForToken && !document.hidden) timer = setTimeout(refresh, POLL_MS);
}

function route() {
  const [name, ...rest] = (location.hash.slice(1) || "tasks").split("/");
  current = { name: name in VIEWS ? name : "tasks", arg: rest.length ? decodeURIComponent(rest.join("/")) : null };
  if ($("#notice").className === "info") notice("");
  for (const section of document.querySelectorAll("main > section")) section.hidden = section.dataset.view !== current.name;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.dataset.view === current.name || (current.name === "task" && link.dataset.view === "tasks")) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  refresh();
}

function askForToken(message) {
  clearTimeout(timer);
  waitingForToken = true;
  sessionStorage.removeItem(TOKEN_KEY);
  for (const section of document.querySelectorAll("main > section")) section.hidden = true;
  $("#forget-token").hidden = true;
  $("#token-form").hidden = false;
  notice(message || "");
  $("#token-input").focus();
}

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("#token-input").value);
  $("#token-input").value = "";
  $("#token-form").hidden = true;
  $("#forget-token").hidden = false;
  waitingForToken = false;
  notice("");
  route();
});

$("#forget-token").addEventListener("click", () => askForToken("Token forgotten."));
$("#task-filters").addEventListener("change", refresh);
window.addEventListener("hashchange", () => { route(); $("#main").focus({ preventScroll: true }); });
document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });

if (TOKEN_REQUIRED && !sessionStorage.getItem(TOKEN_KEY)) askForToken("");
else { $("#forget-token").hidden = !TOKEN_REQUIRED; route(); }
