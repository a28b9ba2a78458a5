// Start-up: the page's Python worker, the loading screen, the error state and, once the page
// works, the service worker. Plain JS, run first (a classic script in <head>): it works even
// when Python never starts, and it starts the worker before the page has finished parsing.
//
// Loading is watched by the bytes that arrive, not by finished steps: a slow connection that
// keeps delivering is never called a failure. Only when nothing has arrived for STALL seconds
// (default 60; `?stall=<seconds>` in the page's address sets it, for tests) does the page say
// the runtime failed, and if Python becomes ready after all, the page recovers.
//
// window.digitsPage = {worker, words, say, whenReady} for app.js.
(() => {
  const html = document.documentElement;
  const $ = (id) => document.getElementById(id);
  const STALL_MS = 1000 * (Number(new URLSearchParams(location.search).get("stall")) || 60);
  const LAST_RESORT = "The page failed to load. Reload to try again."; // when even words.json is missing
  // The steps of the start, in the order the loading screen names them (words.json "loading").
  const STAGES = ["pyodide", "wasm", "stdlib", "numpy", "python", "weights", "net"];

  // --- the page's words ------------------------------------------------------------------------
  let words = null;
  // "failed.runtime" -> its sentence with {names} filled in ("" until words.json has arrived).
  const say = (key, values = {}) => {
    const template = key.split(".").reduce((node, part) => node?.[part], words);
    return typeof template === "string" ? template.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? "")) : "";
  };

  // --- loading state ---------------------------------------------------------------------------
  const done = new Set();
  let received = 0; // bytes the worker has downloaded so far
  let lastFile = "none";
  let lastProgress = performance.now();
  let sawError = false;

  const render = () => {
    if (html.dataset.status !== "loading") return;
    const progress = $("progress");
    if (progress) progress.value = done.size / STAGES.length;
    const next = STAGES.find((key) => !done.has(key));
    const text = next && say(`loading.${next}`);
    if (text && $("status-text"))
      $("status-text").textContent = received ? say("loading.received", { text, megabytes: (received / 1e6).toFixed(1) }) : text;
  };
  const progressed = () => { lastProgress = performance.now(); render(); };

  const wordsLoaded = fetch("words.json").then((response) => {
    if (!response.ok) throw new Error(`words.json: HTTP ${response.status}`);
    return response.json();
  }).then((loaded) => { words = loaded; render(); return loaded; });

  const fail = (message, detail = "") => {
    if (html.dataset.status === "error") return;
    sawError = true;
    html.dataset.status = "error";
    wordsLoaded.finally(() => {
      if (html.dataset.status !== "error") return;
      $("status-text").textContent = (typeof message === "function" ? message() : message) || LAST_RESORT;
      const more = $("status-detail");
      if (detail && more) { more.hidden = false; more.querySelector("pre").textContent = detail; }
    });
  };
  const runtimeFailed = (why) => fail(() => say("failed.runtime"), why);

  // --- offline --------------------------------------------------------------------------------
  // The service worker caches the whole site once the page works (registering it earlier would
  // compete with the first load for bandwidth): every file this page and its worker loaded.
  const registerServiceWorker = (workerResources = []) => {
    if (!("serviceWorker" in navigator) || location.protocol === "file:") return;
    navigator.serviceWorker.addEventListener("message", ({ data }) => {
      if (data?.type === "cached") html.dataset.offline = "ready";
      else if (data?.type === "not-cached") console.warn("offline copy not updated:", data.error);
    });
    navigator.serviceWorker.startMessages();
    navigator.serviceWorker.register("sw.js").then(async () => {
      const registration = await navigator.serviceWorker.ready;
      const urls = performance.getEntriesByType("resource").map((entry) => entry.name);
      urls.push(location.href, ...workerResources);
      registration.active.postMessage({ type: "cache", urls });
    }).catch((error) => console.warn("service worker not registered:", error));
  };

  // Ready, even after a false alarm (a stall that was not one): the page works, so say so.
  const readyCallbacks = [];
  const ready = (resources) => {
    if (html.dataset.status === "ready") return;
    STAGES.forEach((key) => done.add(key));
    if ($("progress")) $("progress").value = 1;
    html.dataset.readyMs = Math.round(performance.now());
    html.dataset.status = "ready";
    if (sawError) html.dataset.recovered = "true";
    const more = $("status-detail");
    if (more) more.hidden = true;
    wordsLoaded.finally(() => { $("status-text").textContent = say("ready"); });
    readyCallbacks.splice(0).forEach((callback) => callback());
    registerServiceWorker(resources);
  };
  const whenReady = (callback) => (html.dataset.status === "ready" ? callback() : readyCallbacks.push(callback));

  // --- the worker ------------------------------------------------------------------------------
  let worker = null;
  try {
    worker = new Worker("worker.js", { type: "module" });
  } catch (error) {
    fail(() => say("failed.no_worker"), String(error));
  }
  worker?.addEventListener("message", ({ data }) => {
    if (data.type === "bytes") {
      received = data.received;
      lastFile = data.file;
      progressed();
    } else if (data.type === "stage") {
      performance.mark(`digits:${data.key}`); // the worker's steps on the page's timeline (bench/browser.py)
      done.add(data.key);
      progressed();
    } else if (data.type === "failed") {
      if (data.kind === "runtime") runtimeFailed(data.detail);
      else if (data.kind === "code") fail(() => say("failed.code"), data.detail);
      else fail(data.message, data.detail);
    } else if (data.type === "ready") {
      ready(data.resources);
    }
  });
  // The worker's script did not load or threw before it could say anything.
  worker?.addEventListener("error", (event) => {
    if (html.dataset.status === "loading") runtimeFailed(event.message || "could not start worker.js");
  });

  // Errors of the page itself before "ready" (a script that did not load, an exception).
  addEventListener("error", (event) => {
    if (html.dataset.status !== "loading") return;
    const target = event.target;
    if (target?.tagName === "SCRIPT") runtimeFailed(`could not load ${target.src}`);
    else if (target === window && event.message) runtimeFailed(event.message);
  }, true);
  addEventListener("unhandledrejection", (event) => {
    if (html.dataset.status === "loading") runtimeFailed(String(event.reason?.message || event.reason));
  });
  wordsLoaded.catch((error) => runtimeFailed(String(error.message || error)));

  // A runtime that really stalls (a request that never answers) must not leave a dead page.
  const watchdog = setInterval(() => {
    if (html.dataset.status === "ready") return clearInterval(watchdog);
    if (html.dataset.status === "loading" && performance.now() - lastProgress > STALL_MS)
      runtimeFailed(say("failed.stalled", { seconds: Math.round(STALL_MS / 1000), last: lastFile }) ||
                    `no data for ${Math.round(STALL_MS / 1000)} s`);
  }, Math.min(5000, STALL_MS / 4));

  window.digitsPage = { worker, words: wordsLoaded, say, whenReady };
  addEventListener("DOMContentLoaded", render);
})();
