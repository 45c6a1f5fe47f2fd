// regkb web chat: asks POST /v1/chat (Server-Sent Events), renders answers, citations and checkpoint
// checklists, and shows cited pages in a source viewer. Plain DOM, no build step: server text only
// ever reaches the page through textContent or text nodes.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { conversationId: null, generation: 0, busy: false, documents: {}, viewer: null, opener: null };
const BADGES = { draft: "DRAFT", superseded: "SUPERSEDED" };
const NEW_TAB = { target: "_blank", rel: "noopener noreferrer" };

// --- helpers ----------------------------------------------------------------------------------------

// el("a", {href, text}, ...children): attributes (on* are listeners, text is textContent), then children.
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child || child === 0) node.append(typeof child === "object" ? child : String(child));
  }
  return node;
}

const isInternal = (item) => item.doc_type === "internal_lesson" || item.jurisdiction === "internal";

// Badge elements, each after a space so that text copied from a chip reads "... p. 7 DRAFT".
function badges(item) {
  const out = [];
  if (BADGES[item.status]) out.push(" ", el("span", { class: `badge ${item.status}`, text: BADGES[item.status] }));
  if (isInternal(item)) out.push(" ", el("span", { class: "badge internal", text: "INTERNAL" }));
  return out;
}

const badgeText = (item) => badges(item).map((b) => (typeof b === "string" ? "" : ` [${b.textContent}]`)).join("");

// The issuer a user filters on, as the API computes it: "FDA (CDER/CBER)" -> FDA, "European Commission" -> EC.
function agencyKey(agency) {
  const first = (agency || "").replace("(", " ").trim().split(/\s+/)[0].toUpperCase();
  return { EUROPEAN: "EC", COMMISSION: "EC", EU: "EC" }[first] || first;
}

function pagesLabel(pages) {
  if (!pages || !pages.length) return "";
  return pages.length === 1 ? `p. ${pages[0]}` : `pp. ${pages[0]}–${pages[pages.length - 1]}`;
}

function sectionLabel(section, title) {
  const text = [section, title].filter(Boolean).join(" ");
  return text ? `§ ${text}` : "§ (front matter)";
}

// --- filters ----------------------------------------------------------------------------------------

function selectedFilters() {
  const filters = { agency: [], jurisdiction: [], status: [] };
  for (const box of document.querySelectorAll("#filters input:checked")) filters[box.name].push(box.value);
  return filters;
}

function updateFilterSummary() {
  const chosen = Object.values(selectedFilters()).flat();
  $("filter-summary").textContent = chosen.length ? chosen.join(", ") : "all documents";
}

// The API key, when the server requires one (`regkb keys create`); kept in this browser's localStorage.
function authHeaders() {
  const key = ($("api-key")?.value || "").trim();
  return key ? { Authorization: `Bearer ${key}` } : {};
}

function setupApiKey() {
  const input = $("api-key");
  if (!input) return;
  input.value = localStorage.getItem("regkb-api-key") || "";
  input.addEventListener("change", () => {
    localStorage.setItem("regkb-api-key", input.value.trim());
    loadDocuments();
  });
}

// Greys out values no indexed document has (the API would reject them) and adds values the corpus has
// beyond the defaults (e.g. the "internal" jurisdiction of lessons learned).
async function loadDocuments() {
  let docs;
  try {
    const response = await fetch("/v1/documents", { headers: authHeaders() });
    if (!response.ok) return;
    docs = await response.json();
  } catch {
    return; // the filters then stay as they are; the API names valid values if one is wrong
  }
  const indexed = { agency: new Set(), jurisdiction: new Set() };
  for (const doc of docs) {
    state.documents[doc.id] = doc;
    if (!doc.indexed) continue;
    indexed.agency.add(agencyKey(doc.agency));
    indexed.jurisdiction.add(doc.jurisdiction);
  }
  for (const [name, values] of Object.entries(indexed)) {
    const group = $(`filter-${name}`);
    for (const value of values) {
      if (group.querySelector(`input[value="${CSS.escape(value)}"]`)) continue;
      const box = el("input", { type: "checkbox", name, value, "data-testid": `filter-${name}-${value}` });
      group.append(el("label", {}, box, ` ${value}`));
    }
    for (const box of group.querySelectorAll("input")) {
      box.disabled = !values.has(box.value);
      box.parentElement.title = box.disabled ? "No indexed document" : "";
    }
  }
}

// --- asking -----------------------------------------------------------------------------------------

// Server-Sent Events from a fetch response: blocks split by a blank line, "event:" and "data:" lines.
async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let boundary;
    while ((boundary = /\r?\n\r?\n/.exec(buffer))) {
      const block = buffer.slice(0, boundary.index);
      buffer = buffer.slice(boundary.index + boundary[0].length);
      let event = "message";
      const data = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body.error) return `${body.error.message} (request ${body.error.request_id})`;
    if (body.detail) return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch {
    /* not JSON: fall through */
  }
  return `The server answered ${response.status} ${response.statusText}`;
}

async function ask(message) {
  if (state.busy || !message.trim()) return;
  state.busy = true;
  $("ask").disabled = true;
  $("intro")?.remove();
  const turn = newTurn(message);
  const body = { message, conversation_id: state.conversationId, filters: selectedFilters(), stream: true };
  try {
    const response = await fetch("/v1/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream", ...authHeaders() },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(await errorMessage(response));
    for await (const { event, data } of sseEvents(response)) {
      if (event === "meta") onMeta(turn, data);
      else if (event === "delta") onDelta(turn, data.text);
      else if (event === "citations") onCitations(turn, data);
      else if (event === "done") onDone(turn, data);
    }
    if (!turn.status) throw new Error("The answer stream ended early; please ask again.");
  } catch (error) {
    setStatus(turn, "error", "Error");
    turn.block.append(el("p", { class: "error", role: "alert", "data-testid": "error", text: error.message }));
  } finally {
    turn.block.setAttribute("aria-busy", "false");
    state.busy = false;
    $("ask").disabled = false;
  }
}

function newTurn(message) {
  const turn = { message, generation: state.generation, text: "", citations: [], checklist: null, closest: [] };
  turn.statusLine = el("p", { class: "status", "data-testid": "status", "data-status": "pending" }, "Answering…");
  turn.resolved = el("p", { class: "resolved", "data-testid": "resolved-question", hidden: true });
  turn.checklistBox = el("div", { class: "checklist-box" });
  turn.answerText = el("div", { class: "answer-text", "data-testid": "answer-text" });
  turn.citationList = el("div", { class: "citations" });
  turn.copyButton = el("button", { type: "button", class: "secondary", "data-testid": "copy", disabled: true });
  turn.copyButton.textContent = "Copy answer";
  turn.copyButton.addEventListener("click", () => copyAnswer(turn));
  const parts = [turn.statusLine, turn.checklistBox, turn.answerText, turn.citationList];
  turn.block = el("div", { class: "answer", "data-testid": "answer", "aria-busy": "true" }, parts);
  turn.block.append(el("div", { class: "actions" }, turn.copyButton));
  const bubble = el("div", { class: "bubble", "data-testid": "user-question", text: message });
  const article = el("article", { class: "turn" }, bubble, turn.resolved, turn.block);
  $("conversation").append(article);
  article.scrollIntoView({ block: "start", behavior: "smooth" });
  return turn;
}

function setStatus(turn, status, label) {
  turn.status = status;
  turn.block.dataset.status = status;
  turn.statusLine.dataset.status = status;
  turn.statusLine.textContent = label;
}

function onMeta(turn, data) {
  if (turn.generation === state.generation) state.conversationId = data.conversation_id;
  turn.question = data.question;
  const squash = (s) => s.trim().replace(/\s+/g, " ").toLowerCase();
  if (data.question && squash(data.question) !== squash(turn.message)) {
    turn.resolved.textContent = `Searched as: ${data.question}`;
    turn.resolved.hidden = false;
  }
}

function onDelta(turn, text) {
  turn.text += text;
  renderAnswerText(turn);
}

// The answer text with bullets on their own lines and each [n] marker a button that opens citation n.
function renderAnswerText(turn) {
  const parts = turn.text.replace(/\s+•\s+/g, "\n• ").split(/(\[\d+\])/);
  turn.answerText.replaceChildren(
    ...parts.map((part) => {
      const n = (/^\[(\d+)\]$/.exec(part) || [])[1];
      if (!n) return document.createTextNode(part);
      const open = (event) => {
        const citation = turn.citations.find((c) => String(c.marker) === n);
        if (citation) openViewer(citationSource(citation), event.currentTarget);
      };
      const attrs = { type: "button", class: "marker", "data-marker": n, "aria-label": `Citation ${n}` };
      return el("button", { ...attrs, onclick: open }, part);
    }),
  );
}

function onCitations(turn, data) {
  turn.citations = data.citations || [];
  turn.checklist = data.checklist || null;
  turn.closest = data.closest_documents || [];
  if (turn.checklist) turn.checklistBox.replaceChildren(renderChecklist(turn.checklist));
  if (!turn.citations.length) return;
  turn.citationList.replaceChildren(
    el("h3", { text: turn.checklist ? "From the documents" : "Sources" }),
    el("ol", { class: "chips" }, turn.citations.map((c) => el("li", {}, citationChip(c)))),
  );
}

function citationChip(c) {
  const attrs = {
    type: "button",
    class: "chip",
    "data-testid": "citation-chip",
    "data-marker": c.marker,
    "data-doc-id": c.doc_id,
    "data-agency": agencyKey(c.agency),
    "data-status": c.status,
    "data-jurisdiction": c.jurisdiction,
    title: [`${c.title} (${c.reference})`, c.version_note].filter(Boolean).join(" — "),
    onclick: (event) => openViewer(citationSource(c), event.currentTarget),
  };
  const version = c.version_note ? [" ", el("span", { class: "chip-version", text: c.version_note })] : [];
  return el(
    "button",
    attrs,
    el("span", { class: "chip-num", text: `[${c.marker}]` }),
    " ",
    el("span", { class: "chip-title", text: c.title }),
    " ",
    el("span", { class: "chip-loc", text: `${sectionLabel(c.section, "")} ${pagesLabel(c.pages)}` }),
    badges(c),
    ...version,
  );
}

function citationSource(c) {
  return { ...c, section: sectionLabel(c.section, c.section_title) };
}

function onDone(turn, data) {
  const total = data.timings_ms && data.timings_ms.total;
  const mapOnly = data.status === "no_evidence" && turn.checklist;
  const answered = data.confidence === "low" ? "Answered, low confidence" : "Answered";
  const label = data.status === "answered" ? answered : mapOnly ? "Checkpoint map only" : "No evidence";
  setStatus(turn, data.status, label + (total ? ` · ${Math.round(total)} ms` : ""));
  if (data.status === "no_evidence") {
    turn.answerText.classList.add("notice");
    const lead = mapOnly ? "No local passage; the checklist above answers from its references. " : "No evidence found. ";
    turn.answerText.prepend(el("strong", { text: lead }));
    const links = turn.closest.map((id) => {
      const doc = state.documents[id] || {};
      const link = doc.url ? el("a", { href: doc.url, title: doc.title, text: id, ...NEW_TAB }) : id;
      return el("li", { "data-testid": "closest-document" }, link);
    });
    if (links.length) turn.answerText.append(el("ul", { class: "closest", "aria-label": "Closest documents" }, links));
  }
  turn.copyButton.disabled = false;
}

// --- checkpoint checklist ---------------------------------------------------------------------------

// Grouped by jurisdiction (EU, then US). A checkpoint checklist lists each checkpoint with its rows; a
// progression lists one item's rows, checkpoint after checkpoint. Long checklists start folded on phones.
function renderChecklist(checklist) {
  const progression = checklist.kind === "progression";
  const item = progression && checklist.rows.length ? `: ${checklist.rows[0].item_title} across checkpoints` : "";
  const box = el("section", { class: "checklist", "data-testid": "checklist" }, el("h3", {}, `Checkpoint map${item}`));
  const rank = (j) => ({ EU: 1, US: 2 })[j] || 3;
  const jurisdictions = [...new Set(checklist.checkpoints.map((c) => c.jurisdiction))];
  jurisdictions.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const open = checklist.rows.length <= 8 || window.matchMedia("(min-width: 761px)").matches;
  for (const jurisdiction of jurisdictions) {
    const group = el("div", { class: "jurisdiction", "data-jurisdiction": jurisdiction }, el("h4", {}, jurisdiction));
    for (const cp of checklist.checkpoints.filter((c) => c.jurisdiction === jurisdiction)) {
      const rows = checklist.rows.filter((r) => r.checkpoint_id === cp.id);
      if (progression) {
        const where = `${cp.stage_title}: ${cp.title}`;
        group.append(el("ul", { class: "rows" }, rows.map((row) => checklistRow(row, where))));
        continue;
      }
      const count = `${rows.length} item${rows.length === 1 ? "" : "s"}`;
      const summary = el("summary", {}, el("strong", { text: cp.title }), ` · ${cp.stage_title} · ${count}`);
      const details = el("details", { class: "checkpoint", "data-checkpoint": cp.id, open }, summary);
      details.append(
        el("p", { class: "trigger", text: `${cp.requirement}. When: ${cp.trigger}` }),
        referenceList(cp.references),
        el("ul", { class: "rows" }, rows.map((row) => checklistRow(row, row.item_title))),
      );
      group.append(details);
    }
    box.append(group);
  }
  return box;
}

function checklistRow(row, heading) {
  const level = `level ${row.level_rank}/${row.level_count}: ${row.level_title}`;
  return el(
    "li",
    { class: "row", "data-item": row.item, "data-checkpoint": row.checkpoint_id },
    el("p", {}, el("strong", { text: heading }), " ", el("span", { class: "level", text: level })),
    el("p", { class: "expectation", text: row.expectation }),
    referenceList(row.references),
  );
}

const referenceList = (refs) => el("ul", { class: "refs" }, refs.map((r) => el("li", {}, mapReference(r))));

function referenceText(ref, ...more) {
  const parts = [ref.reference || ref.title, ref.section && `§ ${ref.section}`, ref.page && `p. ${ref.page}`, ...more];
  return parts.filter(Boolean).join(" ");
}

// A verified reference with a page opens the source viewer; any other links to the official document.
function mapReference(ref) {
  const title = [ref.title, ref.version_note, ref.note].filter(Boolean).join(" — ");
  const common = { "data-doc-id": ref.doc_id, "data-check": ref.check, title };
  const label = referenceText(ref);
  if (ref.check === "verified" && ref.page) {
    const source = { ...ref, pages: [ref.page], section: ref.section ? `§ ${ref.section}` : "" };
    const open = (event) => openViewer(source, event.currentTarget);
    return el("button", { type: "button", class: "ref-chip", onclick: open, ...common }, label, badges(ref));
  }
  const why = ref.check === "not_offline" ? "not available offline — not checked" : "not checked";
  const note = el("span", { class: "check-note", text: ` (${why} against local text)` });
  return el("a", { class: "ref-chip unchecked", href: ref.url, ...NEW_TAB, ...common }, label, badges(ref), note);
}

// --- copy -------------------------------------------------------------------------------------------

function answerMarkdown(turn) {
  const lines = [`**Question:** ${turn.question || turn.message}`, ""];
  if (turn.checklist) {
    lines.push("**From the checkpoint map:**", "");
    for (const cp of turn.checklist.checkpoints) {
      lines.push(`- ${cp.jurisdiction} · ${cp.title} (${cp.stage_title}, ${cp.requirement})`);
      for (const row of turn.checklist.rows.filter((r) => r.checkpoint_id === cp.id)) {
        const refs = row.references.map((r) => referenceText(r, r.check === "not_offline" && "(not offline)"));
        const where = refs.join("; ");
        lines.push(`  - ${row.item_title}, level ${row.level_rank}/${row.level_count}: ${row.expectation} (${where})`);
      }
    }
    lines.push("", "**From the documents:**", "");
  }
  lines.push(turn.text.trim());
  if (turn.citations.length) lines.push("", "**Sources**", "");
  for (const c of turn.citations) {
    const where = `${sectionLabel(c.section, c.section_title)}, ${pagesLabel(c.pages)}`;
    const version = c.version_note ? ` (${c.version_note})` : "";
    lines.push(`- [${c.marker}] ${c.title} (${c.reference})${badgeText(c)}${version}, ${where}: “${c.quote}” <${c.url}>`);
  }
  return lines.join("\n") + "\n";
}

async function copyAnswer(turn) {
  const text = answerMarkdown(turn);
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    // No clipboard API (plain http on another host, or no permission): copy from a hidden textarea.
    const area = el("textarea", { class: "visually-hidden", "aria-hidden": "true", readonly: true });
    area.value = text;
    document.body.append(area);
    area.select();
    try {
      copied = document.execCommand("copy");
    } catch {
      copied = false;
    }
    area.remove();
  }
  turn.block.dataset.copied = text; // what was copied, for tests and for debugging
  turn.copyButton.textContent = copied ? "Copied" : "Copy failed";
  setTimeout(() => (turn.copyButton.textContent = "Copy answer"), 2500);
}

// --- source viewer ----------------------------------------------------------------------------------

// Joins lines the PDF layout broke (one space for one newline, so offsets into the text still hold);
// paragraphs, bullets and numbered items keep their own line.
const reflow = (text) => text.replace(/(?<=\S)\n(?=[^\n\s•●▪◦‣*\-–—\d(])/g, " ");

// The quote is the page text with whitespace normalised: match its words with any whitespace between.
function findQuote(text, quote) {
  const words = (quote || "").trim().split(/\s+/).filter(Boolean);
  if (!words.length) return null;
  const pattern = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("\\s+");
  const match = new RegExp(pattern).exec(text);
  return match ? { start: match.index, end: match.index + match[0].length } : null;
}

async function fetchPage(docId, page) {
  const response = await fetch(`/v1/documents/${encodeURIComponent(docId)}/pages/${page}`, { headers: authHeaders() });
  if (!response.ok) throw new Error(await errorMessage(response));
  return response.json();
}

// source: {doc_id, pages, quote, section (label), status, doc_type, jurisdiction, superseded_by, note}
async function openViewer(source, opener) {
  state.viewer = source;
  if (opener) state.opener = opener;
  $("source-viewer").hidden = false;
  document.body.classList.add("viewer-open");
  $("source-text").replaceChildren(el("p", { class: "loading", text: "Loading the page…" }));
  $("viewer-close").focus();
  let pages;
  try {
    pages = await Promise.all(source.pages.map((n) => fetchPage(source.doc_id, n)));
  } catch (error) {
    const message = el("p", { class: "error", role: "alert", text: error.message });
    if (state.viewer === source) $("source-text").replaceChildren(message);
    return;
  }
  if (state.viewer === source) renderViewer(source, pages); // unless another source was opened meanwhile
}

function renderViewer(source, pages) {
  const first = pages[0];
  const last = pages[pages.length - 1];
  const superseded = first.superseded_by || source.superseded_by;
  const versionNote = source.version_note || first.version_note;
  $("viewer-title").textContent = first.title;
  $("viewer-reference").textContent = `${first.reference} · ${first.agency}`;
  $("viewer-section").textContent = source.section || "";
  $("viewer-page").textContent = `${pagesLabel(pages.map((p) => p.page))} of ${first.pages}`;
  $("viewer-badges").replaceChildren(...badges({ ...source, status: first.status }));
  $("viewer-superseded").hidden = !versionNote && first.status !== "superseded";
  $("viewer-superseded").textContent = versionNote
    ? `${versionNote}.`
    : `This document is superseded${superseded ? ` by ${superseded}` : ""}.`;
  $("viewer-url").href = first.url;
  $("viewer-url").textContent = `Official document (${pagesLabel([first.page])})`;
  $("viewer-note").hidden = !source.note;
  $("viewer-note").textContent = source.note ? `Map note: ${source.note}` : "";
  $("viewer-prev").disabled = first.page <= 1;
  $("viewer-next").disabled = last.page >= first.pages;

  // Find the quote in the pages read one after another, then mark its part on each page.
  const hit = findQuote(pages.map((p) => p.text).join("\n\n"), source.quote);
  const blocks = [];
  let start = 0;
  for (const p of pages) {
    const end = start + p.text.length;
    const shown = reflow(p.text);
    const body = el("div", { class: "page-text" });
    if (hit && hit.start < end && hit.end > start) {
      const a = Math.max(hit.start, start) - start;
      const b = Math.min(hit.end, end) - start;
      body.append(shown.slice(0, a), el("mark", { text: shown.slice(a, b) }), shown.slice(b));
    } else {
      body.textContent = shown;
    }
    blocks.push(el("p", { class: "page-label", text: `Page ${p.page}` }), body);
    start = end + 2;
  }
  if (source.quote && !hit) blocks.unshift(el("p", { class: "warning" }, "The quote was not found on this page."));
  $("source-text").replaceChildren(...blocks);
  const mark = $("source-text").querySelector("mark");
  if (mark) mark.scrollIntoView({ block: "center" });
  else $("source-text").scrollTop = 0;
}

function turnPage(step) {
  const current = state.viewer;
  if (!current) return;
  const page = (step < 0 ? current.pages[0] : current.pages[current.pages.length - 1]) + step;
  openViewer({ ...current, pages: [page], section: "" }, null);
}

function closeViewer() {
  $("source-viewer").hidden = true;
  document.body.classList.remove("viewer-open");
  state.viewer = null;
  if (state.opener && document.contains(state.opener)) state.opener.focus();
  state.opener = null;
}

// --- wiring -----------------------------------------------------------------------------------------

function newConversation() {
  state.conversationId = null;
  state.generation += 1; // an answer still streaming must not bring its conversation back
  closeViewer();
  $("conversation").replaceChildren();
  $("question").value = "";
  $("question").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  const question = $("question");
  $("ask-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const message = question.value.trim();
    if (!message || state.busy) return;
    question.value = "";
    ask(message);
  });
  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("ask-form").requestSubmit();
    }
  });
  for (const example of document.querySelectorAll(".example")) {
    example.addEventListener("click", () => ask(example.textContent));
  }
  $("new-conversation").addEventListener("click", newConversation);
  $("filters").addEventListener("change", updateFilterSummary);
  $("viewer-close").addEventListener("click", closeViewer);
  $("viewer-prev").addEventListener("click", () => turnPage(-1));
  $("viewer-next").addEventListener("click", () => turnPage(1));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("source-viewer").hidden) closeViewer();
  });
  setupApiKey();
  loadDocuments();
});
