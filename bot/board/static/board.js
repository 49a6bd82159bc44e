// The case board. Data from the server is always put in as text (textContent), never as
// markup. Telegram's launch parameters come in the address's fragment (tgWebAppData and
// tgWebAppThemeParams); the few calls to the Telegram app go through its documented
// postEvent bridges, so the page needs no script from anywhere but this server.
"use strict";

const launch = new URLSearchParams(location.hash.slice(1));
const initData = launch.get("tgWebAppData") || sessionStorage.getItem("initData") || "";
if (initData) sessionStorage.setItem("initData", initData);

const state = {
  words: {}, me: null, cases: [], offset: 0, filter: "all", advisor: "", open: null,
  tab: "cases",
};
const $ = (id) => document.getElementById(id);

function postEvent(type, data = {}) {
  try {
    if (window.TelegramWebviewProxy) {
      window.TelegramWebviewProxy.postEvent(type, JSON.stringify(data));
    } else if (window.external && "notify" in window.external) {
      window.external.notify(JSON.stringify({ eventType: type, eventData: data }));
    } else if (window.parent !== window) {
      window.parent.postMessage(JSON.stringify({ eventType: type, eventData: data }), "*");
    }
  } catch (_) { /* outside Telegram: nothing to tell */ }
}

function applyTheme() {
  let theme = {};
  try { theme = JSON.parse(launch.get("tgWebAppThemeParams") || "{}"); } catch (_) { return; }
  const names = {
    bg_color: "--tg-bg", text_color: "--tg-text", hint_color: "--tg-hint",
    link_color: "--tg-link", button_color: "--tg-button", button_text_color: "--tg-button-text",
    secondary_bg_color: "--tg-secondary-bg",
  };
  let themed = false;
  for (const [key, variable] of Object.entries(names)) {
    if (/^#[0-9a-fA-F]{3,8}$/.test(theme[key] || "")) {
      document.documentElement.style.setProperty(variable, theme[key]);
      themed = true;
    }
  }
  document.documentElement.classList.toggle("themed", themed);
}

// el("p", {class: "x"}, "text", child): strings become text nodes, never HTML.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

class Refused extends Error {}

async function call(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { Authorization: "tma " + initData, "Content-Type": "application/json" },
  });
  let body = null;
  try { body = await response.json(); } catch (_) { body = null; }
  if (response.status === 401 || response.status === 403) throw new Refused();
  if (!response.ok) {
    // A refusal (taken by someone else, no cause) is said in the reader's language; a
    // server's trouble (the database away) gets the page's own "try again".
    const said = response.status < 500 && body && body.error;
    throw new Error(said || state.words.failed || "error");
  }
  return body;
}

function notice(text) {
  const box = $("notice");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(notice.timer);
  notice.timer = setTimeout(() => { box.hidden = true; }, 4000);
}

function refused() {
  $("board").hidden = true;
  $("who").textContent = "";
  $("refused").hidden = false;
}

// --- countdowns ---------------------------------------------------------------------------

function clock(ms) {
  const total = Math.floor(Math.abs(ms) / 1000);
  const days = Math.floor(total / 86400);
  const pad = (n) => String(n).padStart(2, "0");
  const hms = `${Math.floor((total % 86400) / 3600)}:${pad(Math.floor((total % 3600) / 60))}:${pad(total % 60)}`;
  return days ? `${days} ${state.words.d} ${hms}` : hms;
}

function dueText(item) {
  if (!item.due) return "";
  const left = Date.parse(item.due) - (Date.now() + state.offset);
  if (left <= 0) return `${state.words.late_by} ${clock(left)}`;
  const by = item.status === "open" ? state.words.take_by : state.words.resolve_by;
  return `${by} ${clock(left)}`;
}

function isLate(item) {
  return Boolean(item.due) && Date.parse(item.due) <= Date.now() + state.offset;
}

function tick() {
  for (const node of document.querySelectorAll("[data-due-of]")) {
    const item = node.dueItem;
    node.textContent = dueText(item);
    node.classList.toggle("late", isLate(item));
  }
}

function dueNode(item) {
  const node = el("span", { class: "due", "data-due-of": item.id });
  node.dueItem = item;
  node.textContent = dueText(item);
  node.classList.toggle("late", isLate(item));
  return node;
}

// --- the list -----------------------------------------------------------------------------

function dot(item) {  // the severity, red or amber (no emoji font needed)
  return el("span", { class: `dot ${item.severity}`, "aria-hidden": "true" });
}

function shown() {
  return state.cases.filter((item) => {
    if (state.advisor && item.advisor !== state.advisor) return false;
    switch (state.filter) {
      case "mine": return item.assignee_id === state.me.user_id;
      case "unassigned": return item.status === "open";
      case "overdue": return isLate(item);
      default: return true;
    }
  });
}

function renderList() {
  const list = $("list");
  list.replaceChildren();
  const items = shown();
  for (const item of items) {
    const title = `#${item.id} ${item.feedback ? "✉️ " : ""}${item.customer}`;
    const line = [item.car, item.order_no, item.advisor].filter(Boolean).join(" · ");
    list.append(el("li", {},
      el("button", { class: `case ${item.severity}`, "data-case": item.id, onclick: () => openCase(item.id) },
        el("div", { class: "top" }, el("span", {}, dot(item), title), dueNode(item)),
        line ? el("div", { class: "line" }, line) : null,
        el("div", { class: "line" }, `${item.opened} · ${item.state}`),
        item.summary ? el("div", { class: "summary" }, item.summary) : null)));
  }
  const empty = $("empty");
  empty.hidden = items.length > 0;
  empty.textContent = state.cases.length ? state.words.none_here : state.words.none;
}

function renderAdvisors() {
  const select = $("advisor");
  const names = [...new Set(state.cases.map((item) => item.advisor).filter(Boolean))].sort();
  if (state.advisor && !names.includes(state.advisor)) names.push(state.advisor);
  select.replaceChildren(el("option", { value: "" }, state.words.any_advisor),
    ...names.map((name) => el("option", { value: name, selected: name === state.advisor }, name)));
}

async function loadCases() {
  const body = await call("api/cases");
  state.offset = Date.parse(body.now) - Date.now();
  state.cases = body.cases;
  renderAdvisors();
  renderList();
}

// --- one case -----------------------------------------------------------------------------

function section(title, ...content) {
  return [el("h2", {}, title), ...content.filter(Boolean)];
}

function renderCard(card) {
  state.open = card;
  const w = state.words;
  const parts = [
    el("h1", {}, dot(card), card.title),
    el("p", {}, card.state, " ", dueNode(card)),
    el("div", { class: "facts" }, card.facts.map((line) => el("p", {}, line))),
  ];
  if (card.topic) parts.push(el("p", {}, "✉️ ", card.topic));
  if (card.answers.length) {
    parts.push(...section(w.answers, el("table", { class: "answers" },
      card.answers.map((row) => el("tr", { class: row.problem ? "problem" : "" },
        el("td", {}, row.question), el("td", {}, row.problem ? `‼️ ${row.answer}` : row.answer))))));
  }
  if (card.comment || card.media) {
    parts.push(...section(w.comment,
      card.comment ? el("div", { class: "comment" }, card.comment) : null,
      card.media ? el("p", { class: "hint" }, "📎 ", card.media) : null));
  }
  const actions = el("div", { class: "actions" });
  if (card.can_take) {
    actions.append(el("button", { class: "primary", id: "take", onclick: (event) => act(event, "take") }, w.take));
  }
  if (card.can_close) {
    const cause = el("select", { id: "cause" }, el("option", { value: "" }, `${w.cause}…`),
      state.causes.map((c) => el("option", { value: c.code }, c.label)));
    const note = el("textarea", { id: "note", maxlength: 2000, placeholder: w.note });
    actions.append(el("h2", {}, w.close), cause, note,
      el("button", { class: "primary", id: "close", onclick: (event) => act(event, "close", { cause: cause.value, note: note.value }) }, w.save));
  }
  parts.push(actions);
  parts.push(...section(w.history, el("ol", { class: "history" },
    card.history.map((event) => el("li", {}, el("span", { class: "when" }, event.when), event.text)))));
  $("card").replaceChildren(...parts.filter(Boolean));
}

async function openCase(id) {
  try {
    renderCard(await call(`api/cases/${id}`));
    $("cases").hidden = true;
    $("case").hidden = false;
    window.scrollTo(0, 0);
  } catch (error) { failed(error); }
}

async function act(event, action, body = undefined) {
  const button = event.currentTarget;
  button.disabled = true;
  try {
    const card = await call(`api/cases/${state.open.id}/${action}`, {
      method: "POST", body: JSON.stringify(body || {}),
    });
    renderCard(card);
    notice(action === "take" ? card.state : `✅ ${card.title}`);
    loadCases().catch(failed);
  } catch (error) {
    button.disabled = false;
    failed(error);
  }
}

function closeCase() {
  state.open = null;
  $("case").hidden = true;
  $("cases").hidden = state.tab !== "cases";
  renderList();
}

// --- figures ------------------------------------------------------------------------------

function bar(share) {
  const node = el("div", { class: "bar" });
  node.style.width = `${Math.round(share * 100)}%`;  // CSSOM: allowed by the page's CSP
  return node;
}

async function loadFigures() {
  const period = $("period").value;
  const report = $("report");
  const figures = await call(`api/figures?period=${encodeURIComponent(period)}`);
  const parts = [el("h2", {}, figures.title),
    el("div", { class: "tiles" }, figures.tiles.map((tile) =>
      el("div", { class: "tile" }, el("div", { class: "value" }, tile.value), el("div", { class: "label" }, tile.label))))];
  if (!figures.has_data) {
    parts.push(el("p", { class: "hint" }, state.words.no_data));
    report.replaceChildren(...parts);
    return;
  }
  if (figures.channels.length > 1) {
    parts.push(el("table", { class: "figures" }, figures.channels.map((row) =>
      el("tr", {}, el("td", {}, row.channel), el("td", { class: "n" }, `${row.completed} / ${row.invited} (${row.rate})`)))));
  }
  parts.push(el("h2", {}, figures.questions_title));
  parts.push(el("table", { class: "figures", id: "questions" }, figures.questions.map((row) =>
    el("tr", {}, el("td", {}, row.question,
      bar(row.value)),
    el("td", { class: "n" }, `${row.share} (n=${row.answered})`)))));
  if (figures.advisors.length) {
    parts.push(el("h2", {}, figures.advisors_title));
    parts.push(el("table", { class: "figures", id: "advisors" }, figures.advisors.map((row) =>
      el("tr", {}, el("td", {}, row.advisor), el("td", { class: "n" }, `${row.csi} (n=${row.surveys})`)))));
  }
  const charts = el("div", { id: "charts" });
  parts.push(charts);
  report.replaceChildren(...parts);
  const drawn = await call(`api/charts?period=${encodeURIComponent(period)}`);
  charts.replaceChildren(...drawn.charts.map((chart) => el("figure", {},
    el("img", { src: `data:image/png;base64,${chart.png}`, alt: chart.caption }),
    el("figcaption", {}, chart.caption))));
}

// --- tabs, filters, start -----------------------------------------------------------------

function showTab(tab) {
  state.tab = tab;
  $("notice").hidden = true;
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
  }
  $("cases").hidden = tab !== "cases" || state.open !== null;
  $("case").hidden = tab !== "cases" || state.open === null;
  $("figures").hidden = tab !== "figures";
  if (tab === "figures") loadFigures().catch(failed);
}

function failed(error) {
  if (error instanceof Refused) refused();
  else notice(error.message || state.words.failed);
}

function label(words) {
  document.title = words.title;
  document.documentElement.lang = state.me.language;
  $("title").textContent = words.title;
  $("tab-cases").textContent = words.cases;
  $("tab-figures").textContent = words.figures;
  for (const chip of document.querySelectorAll("[data-filter]")) chip.textContent = words[chip.dataset.filter];
  $("back").textContent = `← ${words.back}`;
  $("period-label").textContent = `${words.period}: `;
  const periods = { "7d": words.days7, "30d": words.days30, "90d": words.days90, all: words.all_time };
  for (const option of $("period").options) option.textContent = periods[option.value];
}

async function start() {
  applyTheme();
  postEvent("web_app_ready");
  postEvent("web_app_expand");
  try {
    const me = await call("api/me");
    state.me = me;
    state.words = me.words;
    state.causes = me.causes;
    label(me.words);
    $("who").textContent = me.name;
    await loadCases();
    $("board").hidden = false;
  } catch (error) {
    failed(error);
    return;
  }
  for (const chip of document.querySelectorAll("[data-filter]")) {
    chip.addEventListener("click", () => {
      state.filter = chip.dataset.filter;
      for (const other of document.querySelectorAll("[data-filter]")) {
        other.setAttribute("aria-pressed", String(other === chip));
      }
      renderList();
    });
  }
  $("advisor").addEventListener("change", (event) => { state.advisor = event.target.value; renderList(); });
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.addEventListener("click", () => showTab(button.dataset.tab));
  }
  $("back").addEventListener("click", closeCase);
  $("period").addEventListener("change", () => loadFigures().catch(failed));
  setInterval(tick, 1000);
  setInterval(() => { if (!document.hidden && state.tab === "cases") loadCases().catch(failed); }, 30000);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) loadCases().catch(failed); });
}

start();
