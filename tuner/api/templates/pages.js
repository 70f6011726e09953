// Behaviour of the results pages: the stop button, refreshing a running experiment, following a log.
"use strict";

function showMessage(text, failed) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.classList.toggle("failed", failed);
  box.hidden = false;
}

async function requestStop(button) {
  button.disabled = true;
  const response = await fetch(button.dataset.stopUrl, {
    method: "POST", credentials: "same-origin", headers: {"Accept": "application/json"},
  });
  const body = await response.json().catch(() => ({}));
  if (response.ok) {
    button.textContent = "stop requested";
    showMessage(body.detail || "stop requested", false);
  } else {
    button.disabled = false;
    const hint = response.status === 401 ? " Sign in with the service's token first." : "";
    showMessage((body.detail || response.statusText) + hint, true);
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-stop-url]");
  if (button) {
    requestStop(button);
  }
});

// While the experiment runs, reload the parts of the page marked data-live and the charts.
const REFRESH_INTERVAL_MS = 3000;

async function refreshLiveParts() {
  const response = await fetch(window.location.href, {credentials: "same-origin"});
  if (!response.ok) {
    return true;
  }
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  for (const part of document.querySelectorAll("[data-live]")) {
    const replacement = fresh.getElementById(part.id);
    if (replacement) {
      part.innerHTML = replacement.innerHTML;
    }
  }
  for (const image of document.querySelectorAll("img[data-chart]")) {
    image.src = image.dataset.chart + (image.dataset.chart.includes("?") ? "&" : "?") + "at=" + Date.now();
  }
  const main = fresh.querySelector("main");
  return main && main.dataset.state === "running";
}

function startRefreshing() {
  const main = document.querySelector("main");
  if (!main || main.dataset.state !== "running") {
    return;
  }
  const timer = setInterval(async () => {
    const stillRunning = await refreshLiveParts().catch(() => true);
    if (!stillRunning) {
      clearInterval(timer);
      document.querySelector("main").dataset.state = "ended";
    }
  }, REFRESH_INTERVAL_MS);
}

// Follow a trial's log: the last lines, then new lines as the trial writes them.
const MAX_LOG_CHARACTERS = 1000000;
const LOG_RETRY_MS = 2000;
let logRequest = null;

async function followLog() {
  const log = document.getElementById("log");
  const status = document.getElementById("log-status");
  if (!log) {
    return;
  }
  if (logRequest) {
    logRequest.abort();
  }
  logRequest = new AbortController();
  const file = document.getElementById("log-file").value;
  const url = log.dataset.url + "?lines=500&follow=true" + (file ? "&file=" + encodeURIComponent(file) : "");
  log.textContent = "";
  status.textContent = "loading";
  let response;
  try {
    response = await fetch(url, {credentials: "same-origin", signal: logRequest.signal});
  } catch (error) {
    return;
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    status.textContent = body.detail || response.statusText;
    if (response.status === 404 && log.dataset.active === "true") {
      setTimeout(followLog, LOG_RETRY_MS);
    }
    return;
  }
  status.textContent = "following " + (response.headers.get("X-Log-File") || "log");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const {value, done} = await reader.read();
      if (done) {
        break;
      }
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.textContent = (log.textContent + decoder.decode(value, {stream: true})).slice(-MAX_LOG_CHARACTERS);
      if (atBottom) {
        log.scrollTop = log.scrollHeight;
      }
    }
    status.textContent = (response.headers.get("X-Log-File") || "log") + ": end of log";
  } catch (error) {
    status.textContent = "log stream closed";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  startRefreshing();
  const select = document.getElementById("log-file");
  if (select) {
    select.addEventListener("change", followLog);
    followLog();
  }
});
