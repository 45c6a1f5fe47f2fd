// regkb web chat: asks POST /v1/chat (Server-Sent Events), renders answers, citations and checkpoint
// checklists, and shows cited pages in a source viewer. Plain DOM, no build step; server text only
// ever goes through textContent.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { conversationId: null, busy: false, documents: {}, viewer: null, opener: null };
const BADGES = { draft: "DRAFT", superseded: "SUPERSEDED" };

// --- small DOM helpers -------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
  }
  return node;
}

function isInternal(item) {
  return item.doc_type === "internal_lesson" || item.jurisdiction === "internal";
}

function badges(item) {
  const out = [];
  if (BADGES[item.status]) out.push(el("span", { class: `badge ${item.status}`, text: BADGES[item.status] }));
  if (isInternal(item)) out.push(el("span", { class: "badge internal", text: "INTERNAL" }));
  return out;
}

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
  for (const box of document.querySelectorAll("#filters input[type=checkbox]:checked")) {
    filters[box.name].push(box.value);
  }
  return filters;
}

function updateFilterSummary() {
  const chosen = Object.values(selectedFilters()).flat();
  $("filter-summary").textContent = chosen.length ? chosen.join(", ") : "all documents";
}

// Greys out the values no indexed document has (the API rejects them) and adds values the corpus has
// beyond the defaults (e.g. the "internal" jurisdiction of lessons learned).
async function loadDocuments() {
  let docs;
  try {
    const response = await fetch("/v1/documents");
    if (!response.ok) return;
    docs = await response.json();
  } catch {
    return;
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

async function* sseEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
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
    /* not JSON */
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
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
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
    showError(turn, error.message || String(error));
  } finally {
    turn.block.setAttribute("aria-busy", "false");
    state.busy = false;
    $("ask").disabled = false;
  }
}

function newTurn(message) {
  const turn = { message, text: "", citations: [], checklist: null, closest: [], status: null };
  turn.status_el = el("p", { class: "status", "data-testid": "status", "data-status": "pending", text: "Answering…" });
  turn.resolved = el("p", { class: "resolved", "data-testid": "resolved-question", hidden: true });
  turn.checklistBox = el("div", { class: "checklist-box" });
  turn.answerText = el("div", { class: "answer-text", "data-testid": "answer-text" });
  turn.citationList = el("div", { class: "citations", "data-testid": "citations" });
  turn.copyButton = el("button", { type: "button", class: "secondary", "data-testid": "copy", text: "Copy answer" });
  turn.copyButton.disabled = true;
  turn.copyButton.addEventListener("click", () => copyAnswer(turn));
  turn.block = el(
    "div",
    { class: "answer", "data-testid": "answer", "aria-busy": "true" },
    turn.status_el,
    turn.checklistBox,
    turn.answerText,
    turn.citationList,
    el("div", { class: "actions" }, turn.copyButton),
  );
  const article = el(
    "article",
    { class: "turn" },
    el("div", { class: "bubble", "data-testid": "user-question", text: message }),
    turn.resolved,
    turn.block,
  );
  $("conversation").append(article);
  article.scrollIntoView({ block: "start", behavior: "smooth" });
  return turn;
}

function onMeta(turn, data) {
  state.conversationId = data.conversation_id;
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
  const shown = turn.text.replace(/\s+•\s+/g, "\n• ");
  const parts = shown.split(/(\[\d+\])/);
  turn.answerText.replaceChildren(
    ...parts.map((part) => {
      const marker = /^\[(\d+)\]$/.exec(part);
      if (!marker) return document.createTextNode(part);
      return el("button", {
        type: "button",
        class: "marker",
        "data-marker": marker[1],
        "aria-label": `Citation ${marker[1]}`,
        text: part,
        onclick: (event) => {
          const citation = turn.citations.find((c) => String(c.marker) === marker[1]);
          if (citation) openViewer(citationSource(citation), event.currentTarget);
        },
      });
    }),
  );
}

function onCitations(turn, data) {
  turn.citations = data.citations || [];
  turn.checklist = data.checklist || null;
  turn.closest = data.closest_documents || [];
  turn.snapshot = data.corpus_snapshot;
  if (turn.checklist) turn.checklistBox.replaceChildren(renderChecklist(turn.checklist));
  if (!turn.citations.length) return;
  const heading = turn.checklist ? "From the documents" : "Sources";
  turn.citationList.replaceChildren(
    el("h3", { text: heading }),
    el("ol", { class: "chips" }, turn.citations.map((c) => el("li", {}, citationChip(c)))),
  );
}

function citationChip(c) {
  return el(
    "button",
    {
      type: "button",
      class: "chip",
      "data-testid": "citation-chip",
      "data-marker": c.marker,
      "data-doc-id": c.doc_id,
      "data-agency": agencyKey(c.agency),
      "data-status": c.status,
      "data-jurisdiction": c.jurisdiction,
      title: `${c.title} (${c.reference})`,
      onclick: (event) => openViewer(citationSource(c), event.currentTarget),
    },
    el("span", { class: "chip-num", text: `[${c.marker}]` }),
    el("span", { class: "chip-title", text: c.title }),
    el("span", { class: "chip-loc", text: `${sectionLabel(c.section, "")} ${pagesLabel(c.pages)}` }),
    badges(c),
  );
}

function citationSource(c) {
  return {
    doc_id: c.doc_id,
    pages: c.pages,
    quote: c.quote,
    section: sectionLabel(c.section, c.section_title),
    status: c.status,
    doc_type: c.doc_type,
    jurisdiction: c.jurisdiction,
    superseded_by: c.superseded_by,
  };
}

function onDone(turn, data) {
  turn.status = data.status;
  turn.block.dataset.status = data.status;
  turn.status_el.dataset.status = data.status;
  const total = data.timings_ms && data.timings_ms.total;
  const timing = total ? ` · ${Math.round(total)} ms` : "";
  turn.status_el.textContent = (data.status === "answered" ? "Answered" : "No evidence") + timing;
  if (data.status === "no_evidence") {
    turn.answerText.classList.add("notice");
    turn.answerText.prepend(el("strong", { class: "notice-title", text: "No evidence found. " }));
    const links = turn.closest.map((id) => {
      const doc = state.documents[id] || {};
      const attrs = { href: doc.url, target: "_blank", rel: "noopener noreferrer", title: doc.title, text: id };
      return el("li", { "data-testid": "closest-document" }, doc.url ? el("a", attrs) : id);
    });
    if (links.length) turn.answerText.append(el("ul", { class: "closest", "aria-label": "Closest documents" }, links));
  }
  turn.copyButton.disabled = false;
}

function showError(turn, message) {
  turn.status = "error";
  turn.block.dataset.status = "error";
  turn.status_el.dataset.status = "error";
  turn.status_el.textContent = "Error";
  turn.block.append(el("p", { class: "error", role: "alert", "data-testid": "error", text: message }));
}

// --- checkpoint checklist ---------------------------------------------------------------------------

function renderChecklist(checklist) {
  const heading = checklist.kind === "progression" ? "How this item matures across checkpoints" : "Checkpoint map";
  const box = el("section", { class: "checklist", "data-testid": "checklist" }, el("h3", { text: heading }));
  const order = ["EU", "US"];
  const jurisdictions = [...new Set(checklist.checkpoints.map((c) => c.jurisdiction))].sort(
    (a, b) => (order.indexOf(a) + 1 || 9) - (order.indexOf(b) + 1 || 9),
  );
  const open = checklist.rows.length <= 8;
  for (const jurisdiction of jurisdictions) {
    const group = el("div", { class: "jurisdiction", "data-jurisdiction": jurisdiction }, el("h4", { text: jurisdiction }));
    for (const cp of checklist.checkpoints.filter((c) => c.jurisdiction === jurisdiction)) {
      const rows = checklist.rows.filter((r) => r.checkpoint_id === cp.id);
      const summary = el("summary", {}, el("strong", { text: cp.title }), ` · ${cp.stage_title} · ${cp.requirement}`);
      group.append(
        el(
          "details",
          { class: "checkpoint", "data-checkpoint": cp.id, open },
          summary,
          el("p", { class: "trigger", text: `When: ${cp.trigger}` }),
          el("ul", { class: "refs" }, cp.references.map((r) => el("li", {}, mapReference(r)))),
          el("ul", { class: "rows" }, rows.map(checklistRow)),
        ),
      );
    }
    box.append(group);
  }
  return box;
}

function checklistRow(row) {
  return el(
    "li",
    { class: "row", "data-item": row.item },
    el("p", {}, el("strong", { text: row.item_title }), " ", el("span", { class: "level", text: `level ${row.level_rank}/${row.level_count}: ${row.level_title}` })),
    el("p", { class: "expectation", text: row.expectation }),
    el("ul", { class: "refs" }, row.references.map((r) => el("li", {}, mapReference(r)))),
  );
}

function mapReference(ref) {
  const label = [ref.reference || ref.title, ref.section ? `§ ${ref.section}` : "", ref.page ? `p. ${ref.page}` : ""];
  const text = label.filter(Boolean).join(" ");
  const common = { "data-doc-id": ref.doc_id, "data-check": ref.check, title: [ref.title, ref.note].filter(Boolean).join(" — ") };
  if (ref.check === "verified" && ref.page) {
    const source = { ...ref, pages: [ref.page], section: ref.section ? `§ ${ref.section}` : "", note: ref.note };
    return el("button", { type: "button", class: "ref-chip", ...common, onclick: (e) => openViewer(source, e.currentTarget) }, text, badges(ref));
  }
  const why = ref.check === "not_offline" ? "not available offline — not checked against local text" : "not checked against local text";
  return el(
    "a",
    { class: "ref-chip unchecked", href: ref.url, target: "_blank", rel: "noopener noreferrer", ...common },
    text,
    badges(ref),
    el("span", { class: "check-note", text: ` (${why})` }),
  );
}

// --- copy -------------------------------------------------------------------------------------------

function answerMarkdown(turn) {
  const lines = [`**Question:** ${turn.question || turn.message}`, ""];
  if (turn.checklist) {
    lines.push("**From the checkpoint map:**", "");
    for (const cp of turn.checklist.checkpoints) {
      lines.push(`- ${cp.jurisdiction} · ${cp.title} (${cp.stage_title}, ${cp.requirement})`);
      for (const row of turn.checklist.rows.filter((r) => r.checkpoint_id === cp.id)) {
        const refs = row.references.map((r) => [r.reference || r.title, r.section && `§ ${r.section}`, r.page && `p. ${r.page}`].filter(Boolean).join(" "));
        lines.push(`  - ${row.item_title}, level ${row.level_rank}/${row.level_count}: ${row.expectation} (${refs.join("; ")})`);
      }
    }
    lines.push("", "**From the documents:**", "");
  }
  lines.push(turn.text.trim());
  if (turn.citations.length) {
    lines.push("", "**Sources**", "");
    for (const c of turn.citations) {
      const badge = BADGES[c.status] ? ` [${BADGES[c.status]}]` : isInternal(c) ? " [INTERNAL]" : "";
      const where = `${sectionLabel(c.section, c.section_title)}, ${pagesLabel(c.pages)}`;
      lines.push(`- [${c.marker}] ${c.title} (${c.reference})${badge}, ${where}: “${c.quote}” <${c.url}>`);
    }
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
  turn.block.dataset.copied = text;
  turn.copyButton.textContent = copied ? "Copied" : "Copy failed";
  setTimeout(() => (turn.copyButton.textContent = "Copy answer"), 2500);
}

// --- source viewer ----------------------------------------------------------------------------------

// Joins the lines the PDF layout broke (one space for one newline, so match offsets still hold);
// paragraphs, bullets and numbered items keep their line.
function reflow(text) {
  return text.replace(/(?<=\S)\n(?=[^\n\s•●▪◦‣*\-–—\d(])/g, " ");
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// The quote is the page text with whitespace normalised: match its words with any whitespace between.
function findQuote(text, quote) {
  const words = (quote || "").trim().split(/\s+/).filter(Boolean);
  if (!words.length) return null;
  const match = new RegExp(words.map(escapeRegExp).join("\\s+")).exec(text);
  return match ? { start: match.index, end: match.index + match[0].length } : null;
}

async function fetchPage(docId, page) {
  const response = await fetch(`/v1/documents/${encodeURIComponent(docId)}/pages/${page}`);
  if (!response.ok) throw new Error(await errorMessage(response));
  return response.json();
}

async function openViewer(source, opener) {
  state.viewer = source;
  if (opener) state.opener = opener;
  const viewer = $("source-viewer");
  viewer.hidden = false;
  document.body.classList.add("viewer-open");
  $("source-text").replaceChildren(el("p", { class: "loading", text: "Loading the page…" }));
  $("viewer-close").focus();
  let pages;
  try {
    pages = await Promise.all(source.pages.map((n) => fetchPage(source.doc_id, n)));
  } catch (error) {
    $("source-text").replaceChildren(el("p", { class: "error", role: "alert", text: error.message }));
    return;
  }
  if (state.viewer !== source) return; // another source was opened meanwhile
  renderViewer(source, pages);
}

function renderViewer(source, pages) {
  const first = pages[0];
  const info = { ...first, doc_type: source.doc_type, jurisdiction: source.jurisdiction };
  $("viewer-title").textContent = first.title;
  $("viewer-reference").textContent = `${first.reference} · ${first.agency}`;
  $("viewer-section").textContent = source.section || "";
  $("viewer-page").textContent = `${pagesLabel(pages.map((p) => p.page))} of ${first.pages}`;
  $("viewer-badges").replaceChildren(...badges(info));
  const superseded = first.superseded_by || source.superseded_by;
  $("viewer-superseded").hidden = first.status !== "superseded";
  $("viewer-superseded").textContent = `This document is superseded${superseded ? ` by ${superseded}` : ""}.`;
  $("viewer-url").href = first.url;
  $("viewer-url").textContent = `Official document (${pagesLabel([first.page])})`;
  $("viewer-note").hidden = !source.note;
  $("viewer-note").textContent = source.note ? `Map note: ${source.note}` : "";
  $("viewer-prev").disabled = first.page <= 1;
  $("viewer-next").disabled = pages[pages.length - 1].page >= first.pages;

  // Find the quote over the pages read one after another, then mark its part on each page.
  const joined = pages.map((p) => p.text).join("\n\n");
  const hit = findQuote(joined, source.quote);
  const blocks = [];
  let offset = 0;
  for (const p of pages) {
    const start = offset;
    const end = start + p.text.length;
    offset = end + 2;
    const body = el("div", { class: "page-text" });
    if (hit && hit.start < end && hit.end > start) {
      const a = Math.max(hit.start, start) - start;
      const b = Math.min(hit.end, end) - start;
      const shown = reflow(p.text);
      body.append(shown.slice(0, a), el("mark", { text: shown.slice(a, b) }), shown.slice(b));
    } else {
      body.textContent = reflow(p.text);
    }
    blocks.push(el("p", { class: "page-label", text: `Page ${p.page}` }), body);
  }
  if (source.quote && !hit) blocks.unshift(el("p", { class: "warning", text: "The quote was not found in this page text." }));
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
  loadDocuments();
});
