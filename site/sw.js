// The service worker: the whole site, Python runtime included, served from a local cache, so a
// second visit works with the network off and a reload neither downloads nor reinstalls what it
// already has.
//
// What is cached: every file the page and its Python worker loaded. Once the page is ready it
// posts both resource lists (performance.getEntriesByType("resource") of the page, and of the
// worker, which reports its own) here; so the cache holds exactly what the page needs, whatever
// the runtime's files are, with no list to keep up to date. The worker's requests are this
// service worker's too (a dedicated worker belongs to its page), so offline they come from here.
//
// How: cache-first for every GET inside the site; the network only for what is not cached.
//
// Updates: after every visit (once the page is ready, so never in the way of starting up) each
// cached file is checked with a HEAD request: its ETag / Last-Modified, no body. If any file
// changed, appeared or vanished, a new cache is built under a new name (a hash of all the files'
// validators): unchanged files are copied from the old cache, only changed ones are downloaded;
// a marker entry written last makes the new cache the current one and the old cache is deleted.
// The visit after an update therefore runs the new site, entirely.

const PREFIX = "digits-";
const SCHEMA = `${PREFIX}v1-`; // bump when the way this file caches changes
const MARKER = "__complete__"; // written last into a finished cache
// Things the page links to or the browser asks for later, cached alongside what the page loaded.
const ALSO = ["./", "index.html", "manifest.webmanifest", "icon.svg", "icon-192.png", "icon-512.png", "model/card.json"];

const scope = self.registration.scope;
const inScope = (href) => href.startsWith(scope) && !new URL(href).pathname.endsWith("/sw.js");
const isMarker = (href) => href === new URL(MARKER, scope).href;

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// --- serving ---------------------------------------------------------------------------------------

// The name of the complete cache in use, or null: a promise, so that the many requests of a page
// arriving at a freshly started worker all wait for the one look-up (a plain variable set halfway
// through it would send some of them to the network, which fails offline).
let current;

async function lookUp() {
  const names = (await caches.keys()).filter((name) => name.startsWith(SCHEMA)).reverse(); // newest first
  for (const name of names) {
    if (await (await caches.open(name)).match(new URL(MARKER, scope).href)) return name;
  }
  return null;
}

const currentName = () => (current ??= lookUp());

async function respond(request) {
  const name = await currentName();
  const options = { ignoreVary: true, ignoreSearch: request.mode === "navigate" };
  let hit = null;
  if (name) {
    const cache = await caches.open(name);
    hit = await cache.match(request, options);
    if (!hit && request.mode === "navigate") hit = await cache.match(scope, options);
  }
  return hit || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET" || !inScope(request.url) || request.headers.has("range")) return;
  event.respondWith(respond(request));
});

// --- filling and updating the cache ---------------------------------------------------------------

// What identifies a version of a file without its body.
const validator = (response) =>
  response.headers.get("etag") || [response.headers.get("last-modified"), response.headers.get("content-length")].join(" ").trim();

async function digest(text) {
  const bytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(bytes).slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function sync(reported) {
  const wanted = new Set();
  for (const href of [...reported, ...ALSO.map((path) => new URL(path, scope).href)]) {
    const url = new URL(href, scope);
    url.hash = "";
    if (url.protocol.startsWith("http") && inScope(url.href)) wanted.add(url.href);
  }
  const oldName = await currentName();
  const old = oldName ? await caches.open(oldName) : null;
  if (old) for (const request of await old.keys()) if (!isMarker(request.url)) wanted.add(request.url);

  // What the server holds now, by HEAD: a few hundred bytes a file. Offline: this throws, and
  // the cache stays as it is.
  const now = new Map();
  await Promise.all([...wanted].map(async (url) => {
    const response = await fetch(url, { method: "HEAD", cache: "no-store" });
    if (response.ok) now.set(url, validator(response));
  }));
  const changed = [];
  for (const [url, version] of now) {
    const cached = old && (await old.match(url, { ignoreVary: true }));
    if (!cached || (version && validator(cached) !== version)) changed.push(url);
  }
  const gone = old ? (await old.keys()).filter((r) => !isMarker(r.url) && !now.has(r.url)) : [];
  if (oldName && !changed.length && !gone.length) return { name: oldName, files: now.size, downloaded: 0 };

  const name = SCHEMA + (await digest([...now].map(([url, version]) => `${url} ${version}`).sort().join("\n")));
  const fresh = await caches.open(name);
  await Promise.all([...now.keys()].map(async (url) => {
    let response = !changed.includes(url) && old ? await old.match(url, { ignoreVary: true }) : null;
    if (!response) {
      response = await fetch(url, { cache: "no-cache" }); // 304 from the HTTP cache when it has it
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    }
    await fresh.put(url, response);
  }));
  await fresh.put(new URL(MARKER, scope).href, new Response(new Date().toISOString()));
  current = Promise.resolve(name);
  for (const other of await caches.keys()) if (other.startsWith(PREFIX) && other !== name) await caches.delete(other);
  return { name, files: now.size, downloaded: changed.length };
}

let queue = Promise.resolve();
self.addEventListener("message", (event) => {
  if (event.data?.type !== "cache") return;
  const job = (queue = queue.then(() => sync(event.data.urls || [])).then(
    (result) => event.source?.postMessage({ type: "cached", ...result }),
    (error) => {
      current = undefined; // look again: a half-built cache has no marker and is never used
      event.source?.postMessage({ type: "not-cached", error: String(error) });
    },
  ));
  event.waitUntil(job);
});
