// The page's Python, off the main thread: a module Web Worker that starts Pyodide (from
// vendor/, numpy preloaded), loads worker.py and the digits package, and answers the page's
// messages. Drawing, Undo and the loading screen never wait for Python.
//
// Only messages cross (postMessage, ArrayBuffers transferred, no SharedArrayBuffer), so the page
// works on any static host: none needs to send COOP/COEP headers.
//
// page -> worker   {type: "read", version, width, height, ink, points, lengths, sent}
//                  {type: "layers", version, index}
//                  {type: "profile"}                        (bench: the last reading's stages)
//                  {type: "teach", version, index, label}   (digit `index` of reading `version` was a `label`)
//                  {type: "forget"} / {type: "export"} / {type: "import", bytes, name}
// Once ready, the worker reads a made-up digit a few times (worker.py's warm_up) while idle.
// worker -> page   {type: "bytes", received, file}          (while anything downloads)
//                  {type: "stage", key}                     (a step of the start is done)
//                  {type: "failed", kind, message?, detail} (kind: "runtime" | "code" | "weights")
//                  {type: "ready", facts, resources, taught}
//                  {type: "memory", reason, count, label?, error?, stored}  (after teach, forget, import,
//                                                           or another tab of this site changed it)
//                  {type: "memory-file", bytes}             (the answer to export)
//                  {type: "reading", ...worker.py's read(), timing} / {type: "reading", version, error}
//                  {type: "layers", version, index, pictures} / {type: "profile", ...}
import { loadPyodide } from "./vendor/pyodide/pyodide.mjs";

// Python files, written into Python's file system as they are laid out here. A test checks this
// list against site/ (tests/test_page.py), so a new module in digits/ cannot be forgotten.
export const PYTHON_FILES = [
  "worker.py",
  "pictures.py",
  "digits/__init__.py",
  "digits/cnn.py",
  "digits/group.py",
  "digits/machine.py",
  "digits/personal.py",
  "digits/preprocess.py",
  "digits/segment.py",
  "digits/winograd.py",
];
const WEIGHTS = "model/digits.npz";
const HOME = "/home/pyodide";
// Which download each step of the start waits for (the others are small).
const STAGE_OF_FILE = [[/pyodide\.asm\.wasm$/, "wasm"], [/python_stdlib\.zip$/, "stdlib"], [/numpy-[^/]*\.whl$/, "numpy"]];
const BYTES_EVERY_MS = 250;
const WARM_UP_READS = 24; // readings of made-up digits in the idle time after ready (worker.py's warm_up)

const here = (path) => new URL(path, import.meta.url).href;
const now = () => performance.timeOrigin + performance.now(); // the same clock as the page's
const post = (message, transfer = []) => self.postMessage(message, transfer);
const stage = (key) => post({ type: "stage", key });

// --- every download counted as its bytes arrive --------------------------------------------------
// The page's watchdog declares a stall only when no byte has arrived for a long time: a slow
// connection is not a failure. Pyodide fetches through the global fetch, so wrapping it sees
// every byte of the runtime; a file that does not arrive is reported at once (a missing
// pyodide.asm.wasm would otherwise leave Pyodide waiting forever). The bytes are counted on a
// clone: the response itself goes to Pyodide untouched, so the browser can still use its cached
// compilation of the WebAssembly on the next visit (it keys that on the response's URL).
let received = 0;
let lastSent = 0;
const sendBytes = (file, force = false) => {
  const t = performance.now();
  if (force || t - lastSent >= BYTES_EVERY_MS) {
    lastSent = t;
    post({ type: "bytes", received, file });
  }
};

async function count(copy, path) {
  const file = path.split("/").pop();
  const reader = copy.body.getReader();
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      received += chunk.value.byteLength;
      sendBytes(file);
    }
  } catch { // the download failed: whoever reads the response itself reports it
    return;
  }
  sendBytes(file, true);
  for (const [pattern, key] of STAGE_OF_FILE) if (pattern.test(path)) stage(key);
}

const plainFetch = self.fetch.bind(self);
self.fetch = async (input, init) => {
  const response = await plainFetch(input, init);
  const url = response.url || new URL(input instanceof Request ? input.url : String(input), self.location.href).href;
  const path = new URL(url).pathname;
  if (!response.ok && !path.endsWith(WEIGHTS)) // the weights are worker.py's to explain
    post({ type: "failed", kind: "runtime", detail: `${path}: HTTP ${response.status}` });
  if (response.body && init?.method !== "HEAD") count(response.clone(), path);
  return response;
};

// --- what this person taught, kept in this browser -------------------------------------------------
// The memory file (digits/personal.py's format: the corrected 28x28 digits and their labels, not
// one network's features of them, so a retrained network reads them too) is kept in IndexedDB,
// which is this site's alone in this browser and works offline; it is written after every change
// and read at start-up. Nothing is ever sent anywhere. Other tabs of the site hear of a change on
// a BroadcastChannel and load the new memory, so two open tabs do not overwrite each other's.
const DB = "digits";
const STORE = "memory";
const KEY = "personal";
let storeFailed = ""; // why the memory cannot be kept (private browsing, storage off), if so

function database() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function stored(write) { // write: the bytes to keep; without: the bytes kept (or null)
  const db = await database();
  try {
    return await new Promise((resolve, reject) => {
      const transaction = db.transaction(STORE, write ? "readwrite" : "readonly");
      const request = write ? transaction.objectStore(STORE).put(write, KEY) : transaction.objectStore(STORE).get(KEY);
      transaction.oncomplete = () => resolve(write ? true : request.result ?? null);
      transaction.onerror = transaction.onabort = () => reject(transaction.error || request.error);
    });
  } finally {
    db.close();
  }
}

const keptMemory = stored().catch((error) => { storeFailed = String(error?.message || error); return null; });
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("digits-memory") : null;

async function keep() {
  try {
    await stored(call("memory"));
    storeFailed = "";
    channel?.postMessage({ type: "changed" });
  } catch (error) {
    storeFailed = String(error?.message || error);
  }
}

// --- start-up -------------------------------------------------------------------------------------

async function getText(path) {
  const response = await fetch(here(path));
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.text();
}

// The weights, fetched at once, in parallel with the runtime. Offline with no cached copy,
// fetch rejects with a TypeError (or the browser knows it is offline): worker.py says so.
const weights = fetch(here(WEIGHTS)).then(
  async (response) => ({ bytes: response.ok ? new Uint8Array(await response.arrayBuffer()) : null,
                         status: response.status, reason: response.statusText, offline: false }),
  (error) => ({ bytes: null, status: 0, reason: String(error.message || error),
                offline: error instanceof TypeError || navigator.onLine === false }));
const words = getText("words.json");
const sources = Promise.all(PYTHON_FILES.map(async (path) => [path, await getText(path)]));

let py; // worker.py's module, once it has started
let pyodide;

async function start() {
  stage("pyodide");
  pyodide = await loadPyodide({ indexURL: here("vendor/pyodide/"), packages: ["numpy"] });
  stage("python");
  for (const [path, source] of await sources) {
    const target = `${HOME}/${path}`;
    pyodide.FS.mkdirTree(target.slice(0, target.lastIndexOf("/")));
    pyodide.FS.writeFile(target, source);
  }
  try {
    py = pyodide.pyimport("worker");
  } catch (error) { // a Python error in the page's code: its traceback is the detail
    post({ type: "failed", kind: "code", detail: String(error.message || error) });
    return;
  }
  const w = await weights;
  stage("weights");
  const started = call("start", await words, w.bytes, w.status, w.reason, w.offline);
  if (started.error) {
    post({ type: "failed", kind: "weights", message: started.error });
    return;
  }
  // What was taught on earlier visits. A file this code cannot read (none should exist) is left in
  // storage untouched, for a later version of the site, and the page starts with nothing taught.
  const kept = await keptMemory;
  const loaded = kept ? call("load_memory", kept) : { count: 0 };
  if (loaded.error) console.warn("the kept memory was not loaded:", loaded.error);
  stage("net");
  // Everything this worker downloaded, for the service worker's offline copy.
  const resources = performance.getEntriesByType("resource").map((entry) => entry.name);
  post({ type: "ready", facts: started.facts, resources: [self.location.href, ...resources], taught: loaded.count,
         stored: !storeFailed, storeError: storeFailed });
  warmUp();
}

// The first readings after start-up are several times slower than later ones (V8 runs Pyodide's
// wasm from its baseline compiler until it has optimised the hot functions, in the background):
// read a made-up digit a few times in the idle time after ready, one a task, so that a person's reading
// asked for meanwhile goes first. Eight were too few: in node, running the same wasm, the made-up
// readings keep getting faster well after the eighth, and the first reading after ready still found
// the stages (bench/whole_path.py's profile) slower than in the steady state.
async function warmUp() {
  for (let i = 0; i < WARM_UP_READS; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    const made = call("warm_up", i);
    post({ type: "warm", ...made }, buffersOf(made));
  }
}

// A call into worker.py; its answer as plain JS (numpy arrays become typed arrays, copied).
function call(name, ...args) {
  const proxy = py[name](...args);
  try {
    return proxy?.toJs ? proxy.toJs({ dict_converter: Object.fromEntries, create_pyproxies: false }) : proxy;
  } finally {
    proxy?.destroy?.();
  }
}

// The typed arrays inside an answer: handed over to the page, not copied again.
const buffersOf = (value, out = []) => {
  if (ArrayBuffer.isView(value)) out.push(value.buffer);
  else if (Array.isArray(value)) value.forEach((v) => buffersOf(v, out));
  else if (value && typeof value === "object") Object.values(value).forEach((v) => buffersOf(v, out));
  return out;
};

function answer(message) {
  const arrived = now();
  if (message.type === "read") {
    const { version, width, height, ink, points, lengths } = message;
    try {
      const reading = call("read", version, new Uint8Array(ink), width, height, new Float32Array(points), new Uint32Array(lengths));
      reading.timing = { inkMs: message.inkMs, sent: message.sent, arrived, answered: now() };
      post({ type: "reading", ...reading }, buffersOf(reading));
    } catch (error) { // a bug, not the person's fault: the page says so instead of freezing the answer
      post({ type: "reading", version, error: String(error.message || error).trim().split("\n").pop() });
    }
  } else if (message.type === "layers") {
    try {
      const pictures = call("layers", message.index);
      post({ type: "layers", version: message.version, index: message.index, pictures }, buffersOf(pictures));
    } catch (error) {
      post({ type: "layers", version: message.version, index: message.index, error: String(error.message || error) });
    }
  } else if (message.type === "profile") {
    post({ type: "profile", ...call("profile") });
  } else if (message.type === "export") {
    const bytes = call("memory");
    post({ type: "memory-file", bytes }, [bytes.buffer]);
  } else {
    return remember(message);
  }
}

// Teach, forget, import: the memory changes, is stored, and then the page hears of it (so a
// reload right after finds it kept).
async function remember(message) {
  let result;
  if (message.type === "teach") result = call("teach", message.version, message.index, message.label);
  else if (message.type === "forget") result = call("forget");
  else if (message.type === "import") result = call("load_memory", new Uint8Array(message.bytes));
  else return;
  if (!result.error) await keep();
  post({ type: "memory", reason: message.type, label: message.label, name: message.name, ...result,
         stored: !storeFailed, storeError: storeFailed });
}

channel?.addEventListener("message", () => started.then(async () => {
  if (!py) return;
  const kept = await stored().catch(() => null);
  const result = kept ? call("load_memory", kept) : call("forget");
  if (!result.error) post({ type: "memory", reason: "elsewhere", ...result, stored: !storeFailed, storeError: storeFailed });
}));

// Messages that arrive while Python starts wait for it, in order.
const started = start().catch((error) => post({ type: "failed", kind: "runtime", detail: String(error?.stack || error) }));
// One after another: a memory change waits for its storage before the next message is answered.
let queue = Promise.resolve();
self.addEventListener("message", ({ data }) => {
  queue = queue.then(() => started).then(() => py && answer(data)).catch((error) => console.error(error));
});
