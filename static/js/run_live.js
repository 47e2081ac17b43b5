// The live run page: follows the run's Server-Sent Events, updates the steps and the
// status, and appends log lines. Lines are buffered and written once per animation frame,
// and only the newest MAX_LINES stay in the page, so a container printing a hundred
// thousand lines does not freeze the browser. Benchgate's own lines (src "benchgate") get an
// element of their own with a badge and hidden "Benchgate:" text; container output is only
// ever set as text, so it cannot imitate them.
(function () {
  "use strict";

  var MAX_LINES = 2000;
  var RELOAD_SECONDS = 15;  // when live updates are refused, the page reloads this often
  var stored = document.getElementById("stored-log");
  if (stored) { stored.scrollTop = stored.scrollHeight; }  // the end of a log matters most
  var root = document.getElementById("run-live");
  if (!root || !window.EventSource) { return; }

  root.hidden = false;
  var box = document.getElementById("live-log");
  var hiddenNote = document.getElementById("log-hidden");
  var connectionNote = document.getElementById("log-connection");
  var badge = document.getElementById("run-status-badge");
  var statusText = document.getElementById("run-status-text");
  var logUrl = root.getAttribute("data-log-url");

  // The page gives the words (app/runs/display.py), so they are written once.
  var words = JSON.parse(root.getAttribute("data-words"));
  var WORDS = words.status;        // each run or step status in a word
  var SENTENCES = words.sentences;  // what a run's status says until the page reloads

  // A page opened late replays the run from its start: never step back to an older state.
  var RANK = { pending: 0, queued: 0, running: 1, passed: 2, failed: 2, skipped: 2,
    canceled: 2, error: 2 };
  var currentStatus = badge.getAttribute("data-status");

  var pending = [];       // [step, text, platform] triples not yet in the page
  var scheduled = false;
  var hiddenCount = 0;    // lines dropped from the page (still in the download)
  var lastStep = null;
  var lineCount = 0;      // log lines (not step headings) now in the page
  var blocks = [];        // {el, lines} in page order; lines is null for a step heading
  var hiddenCountText = null;

  function formatDuration(seconds) {
    if (seconds < 10) { return seconds.toFixed(1) + " s"; }
    var whole = Math.round(seconds);
    if (whole < 60) { return whole + " s"; }
    var minutes = Math.floor(whole / 60), secs = whole % 60;
    if (minutes < 60) { return minutes + " min " + (secs < 10 ? "0" : "") + secs + " s"; }
    var hours = Math.floor(minutes / 60), mins = minutes % 60;
    return hours + " h " + (mins < 10 ? "0" : "") + mins + " min";
  }

  function stepItem(name) {
    return document.querySelector('#run-steps [data-step="' + name + '"]');
  }

  function setStep(data) {
    var item = stepItem(data.name);
    if (!item || RANK[data.status] < RANK[item.getAttribute("data-status")]) { return; }
    item.setAttribute("data-status", data.status);
    item.className = "run-step step-" + data.status;
    item.querySelector(".run-step-status").textContent = WORDS[data.status] || data.status;
    item.setAttribute("data-started", data.started_at || "");
    var time = item.querySelector(".run-step-time");
    if (data.started_at && data.finished_at) {
      var seconds = (Date.parse(data.finished_at) - Date.parse(data.started_at)) / 1000;
      time.textContent = formatDuration(Math.max(0, seconds));
    } else if (data.status !== "running") {
      time.textContent = "";
    }
  }

  function tickRunningSteps() {
    var items = document.querySelectorAll("#run-steps .step-running");
    for (var i = 0; i < items.length; i++) {
      var started = Date.parse(items[i].getAttribute("data-started"));
      if (!isNaN(started)) {
        var seconds = Math.max(0, (Date.now() - started) / 1000);
        items[i].querySelector(".run-step-time").textContent = formatDuration(seconds);
      }
    }
  }

  function setStatus(status, sentence) {
    if (status === currentStatus || RANK[status] < RANK[currentStatus]) { return; }
    currentStatus = status;
    badge.className = "status status-" + status;
    badge.textContent = WORDS[status] || status;
    // Only status changes go to the polite live region, never log lines.
    statusText.textContent = sentence || SENTENCES[status] || "";
    var noWorker = document.getElementById("run-no-worker");
    if (noWorker && status !== "queued") { noWorker.hidden = true; }
  }

  function atBottom() {
    return box.scrollHeight - box.scrollTop - box.clientHeight < 24;
  }

  // Each flush adds one block of lines (after a heading when the step changes), so the
  // page holds a few dozen nodes rather than thousands, and blocks out of view are not
  // laid out at all (content-visibility in the stylesheet).
  function newBlock(step) {
    var head = document.createElement("div");
    head.className = "log-step";
    head.textContent = step.replace("_", " ");
    box.appendChild(head);
    blocks.push({ el: head, lines: null });
  }

  function addLines(lines) {
    var el = document.createElement("div");
    el.className = "log-lines";
    el.textContent = lines.join("\n");
    box.appendChild(el);
    blocks.push({ el: el, lines: lines });
  }

  function addPlatformLine(text) {
    var el = document.createElement("div");
    el.className = "log-lines log-platform";
    var said = document.createElement("span");
    said.className = "visually-hidden";
    said.textContent = "Benchgate: ";
    el.appendChild(said);
    el.appendChild(document.createTextNode(text));
    box.appendChild(el);
    blocks.push({ el: el, lines: [text] });  // one line: trimmed whole, never re-rendered
  }

  function trim() {
    while (lineCount > MAX_LINES && blocks.length) {
      var first = blocks[0];
      if (first.lines === null) { first.el.remove(); blocks.shift(); continue; }
      var excess = lineCount - MAX_LINES;
      if (excess >= first.lines.length) {
        lineCount -= first.lines.length;
        hiddenCount += first.lines.length;
        first.el.remove();
        blocks.shift();
      } else {
        first.lines = first.lines.slice(excess);
        first.el.textContent = first.lines.join("\n");
        lineCount -= excess;
        hiddenCount += excess;
      }
    }
  }

  function flush() {
    scheduled = false;
    if (!pending.length) { return; }
    var follow = atBottom();
    var batch = pending;
    pending = [];
    if (batch.length > MAX_LINES) {
      // Lines that would be removed at once are never created.
      hiddenCount += batch.length - MAX_LINES;
      batch = batch.slice(batch.length - MAX_LINES);
    }
    var empty = box.querySelector(".log-empty");
    if (empty) { empty.remove(); }
    var lines = [];
    for (var i = 0; i < batch.length; i++) {
      if (batch[i][0] !== lastStep) {
        if (lines.length) { addLines(lines); lines = []; }
        lastStep = batch[i][0];
        newBlock(lastStep);
      }
      if (batch[i][2]) {
        if (lines.length) { addLines(lines); lines = []; }
        addPlatformLine(batch[i][1]);
        continue;
      }
      lines.push(batch[i][1]);
    }
    if (lines.length) { addLines(lines); }
    lineCount += batch.length;
    trim();
    if (hiddenCount) { showHiddenCount(); }
    if (follow) { box.scrollTop = box.scrollHeight; }
  }

  function showHiddenCount() {
    if (!hiddenCountText) {
      hiddenCountText = document.createTextNode("");
      var link = document.createElement("a");
      link.href = logUrl;
      link.setAttribute("download", "");
      link.textContent = "download the full log";
      hiddenNote.textContent = "";
      hiddenNote.appendChild(hiddenCountText);
      hiddenNote.appendChild(link);
      hiddenNote.appendChild(document.createTextNode("."));
      hiddenNote.hidden = false;
    }
    // toLocaleString() builds a number formatter on every call: too slow at every frame.
    hiddenCountText.data = String(hiddenCount).replace(/\B(?=(\d{3})+(?!\d))/g, ",") +
      " older lines are hidden to keep this page fast: ";
  }

  function queueLine(step, text, platform) {
    pending.push([step, text, platform]);
    if (pending.length > MAX_LINES * 2) {
      // A background tab gets no animation frames: keep memory bounded meanwhile.
      hiddenCount += pending.length - MAX_LINES;
      pending = pending.slice(pending.length - MAX_LINES);
    }
    if (!scheduled) {
      // At most one page update per frame the browser paints, however fast lines come.
      scheduled = true;
      window.requestAnimationFrame(flush);
    }
  }

  function parse(event) {
    try { return JSON.parse(event.data); } catch (e) { return null; }
  }

  var source = new EventSource(root.getAttribute("data-events-url"));

  source.addEventListener("log", function (event) {
    var data = parse(event);
    // One event carries a batch of lines, as the worker sent them.
    var lines = (data && data.lines) || [];
    for (var i = 0; i < lines.length; i++) {
      queueLine(lines[i].step || "run", lines[i].line || "", lines[i].src === "benchgate");
    }
  });
  source.addEventListener("step", function (event) {
    var data = parse(event);
    if (data) { setStep(data); }
  });
  source.addEventListener("status", function (event) {
    var data = parse(event);
    if (data && data.status) { setStatus(data.status); }
  });
  source.addEventListener("end", function (event) {
    var data = parse(event) || {};
    source.close();
    flush();
    setStatus(data.status || "error");
    // The finished page holds the results, the stored log and the evidence.
    window.setTimeout(function () { window.location.reload(); }, 1200);
  });
  source.addEventListener("signed_out", function (event) {
    var data = parse(event) || {};
    source.close();
    flush();
    connectionNote.hidden = false;
    connectionNote.textContent = data.message || "You were signed out, so the live log stopped.";
  });
  source.addEventListener("open", function () {
    connectionNote.hidden = true;
  });
  source.addEventListener("error", function () {
    connectionNote.hidden = false;
    if (source.readyState !== EventSource.CLOSED) {
      connectionNote.textContent = "Live updates paused; reconnecting…";
      return;
    }
    // Refused (too many live logs open, answered 429) or failed for good: reload now and then.
    connectionNote.textContent = "Live updates are not available right now, so this page " +
      "reloads itself every " + RELOAD_SECONDS + " seconds to show where the test stands.";
    window.setTimeout(function () { window.location.reload(); }, RELOAD_SECONDS * 1000);
  });

  window.setInterval(tickRunningSteps, 1000);
})();
