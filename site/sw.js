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
// How: every GET inside the site from the cache of the version its page runs (below); the network
// only for what that version does not hold, and for a page the network itself gave its version.
//
// Updates: after every visit (once the page is ready, so never in the way of starting up) each
// cached file is checked with a HEAD request: its ETag / Last-Modified, no body. If any file
// changed, appeared or vanished, a new cache is built under a new name (a hash of all the files'
// validators): unchanged files are copied from the old cache, only changed ones are downloaded;
// every file fetched must still be the version its HEAD named (a site that changes while the cache
// is built leaves no cache of two versions); a marker entry written last makes the new cache the
// current one, for the navigations that follow.
//
// One version a page: a page runs, whole, the version of the site that answered its navigation,
// even when an update finishes while it is still loading (another tab, or its own earlier visit,
// became ready). Every request is answered from the cache its page (or its page's Python worker)
// was given; switching each request to the newest cache ran a page's new app code with its old
// style.css and draw.js. So the visit after an update runs the new site, entirely, and a page
// that is still open keeps the old one until it goes; only then is the old cache deleted.

const PREFIX = "digits-";
const SCHEMA = `${PREFIX}v1-`; // bump when the way this file caches changes
const MARKER = "__complete__"; // written last into a finished cache
const CLIENT = "__client__/"; // + a client's id: an entry in the cache of the version it runs
// Things the page links to or the browser asks for later, cached alongside what the page loaded.
const ALSO = ["./", "index.html", "manifest.webmanifest", "icon.svg", "icon-192.png", "icon-512.png", "model/card.json"];

const scope = self.registration.scope;
const inScope = (href) => href.startsWith(scope) && !new URL(href).pathname.endsWith("/sw.js");
const isMarker = (href) => href === new URL(MARKER, scope).href;
const clientKey = (id) => new URL(CLIENT + encodeURIComponent(id), scope).href;
const isClientKey = (href) => href.startsWith(new URL(CLIENT, scope).href);
const isFile = (href) => !isMarker(href) && !isClientKey(href); // an entry that is a file of the site
const versionNames = async () => (await caches.keys()).filter((name) => name.startsWith(PREFIX));

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim().then(() => serially(prune))));

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

// Which version each page runs: client id -> cache name, or null for a client this worker never
// gave a version (a page that was loaded from the network before the worker took control). In
// memory, and as an entry in that version's own cache, because the browser stops an idle service
// worker and a page may ask for something after it has started again; deleting a version's cache
// drops its entries with it.
const versions = new Map();

async function versionOf(id) {
  if (!id) return null;
  if (!versions.has(id)) {
    let found = null;
    for (const name of await versionNames()) {
      if (await (await caches.open(name)).match(clientKey(id))) found = name;
    }
    versions.set(id, found);
  }
  return versions.get(id);
}

async function remember(id, name) {
  if (!id || !name) return;
  versions.set(id, name);
  try {
    await (await caches.open(name)).put(clientKey(id), new Response(""));
  } catch {
    // Storage full: the page still runs its version, known to this worker while it runs.
  }
}

// A navigation: the current version, and the new page (its resultingClientId) runs it.
async function navigate(event) {
  const { request } = event;
  const name = await currentName();
  if (name) {
    const cache = await caches.open(name);
    const options = { ignoreVary: true, ignoreSearch: true };
    const hit = (await cache.match(request, options)) || (await cache.match(scope, options));
    if (hit) {
      await remember(event.resultingClientId, name);
      return hit;
    }
  }
  return fetch(request); // no offline copy yet: the page runs the network's version
}

// Anything else: from the version its page runs. A page's worker (its script's request names the
// page as its client, the worker as the resulting one) runs its page's version.
async function serve(event) {
  const { request } = event;
  const name = await versionOf(event.clientId);
  if (event.resultingClientId && request.destination.endsWith("worker")) await remember(event.resultingClientId, name);
  if (name && (await caches.has(name))) {
    const hit = await (await caches.open(name)).match(request, { ignoreVary: true });
    return hit || fetch(request); // a file this version never cached
  }
  // A page the network gave its version: the network's files, the offline copy only offline.
  try {
    return await fetch(request);
  } catch (error) {
    const current = await currentName();
    const hit = current && (await (await caches.open(current)).match(request, { ignoreVary: true }));
    if (hit) return hit;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET" || !inScope(request.url) || request.headers.has("range")) return;
  event.respondWith(request.mode === "navigate" ? navigate(event) : serve(event));
});

// Delete every version no page runs any more, except the current one; forget clients that are
// gone. clients.get() waits for a client that is still being created (a navigation answered, its
// page not yet running), so a version is never deleted under a page that is about to run it.
async function prune() {
  const keep = new Set([await currentName()]);
  for (const name of await versionNames()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      if (!isClientKey(request.url)) continue;
      const id = decodeURIComponent(request.url.slice(new URL(CLIENT, scope).href.length));
      if (await self.clients.get(id)) {
        keep.add(name);
      } else {
        await cache.delete(request);
        versions.delete(id);
      }
    }
  }
  for (const name of await versionNames()) if (!keep.has(name)) await caches.delete(name);
}

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
  if (old) for (const request of await old.keys()) if (isFile(request.url)) wanted.add(request.url);

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
  const gone = old ? (await old.keys()).filter((r) => isFile(r.url) && !now.has(r.url)) : [];
  if (oldName && !changed.length && !gone.length) {
    await prune();
    return { name: oldName, files: now.size, downloaded: 0 };
  }

  const name = SCHEMA + (await digest([...now].map(([url, version]) => `${url} ${version}`).sort().join("\n")));
  const fresh = await caches.open(name);
  await Promise.all([...now.keys()].map(async (url) => {
    let response = !changed.includes(url) && old ? await old.match(url, { ignoreVary: true }) : null;
    if (!response) {
      response = await fetch(url, { cache: "no-cache" }); // 304 from the HTTP cache when it has it
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      // The site changed again since its HEAD: this cache would hold two versions. Build none
      // now; the next visit tries again.
      if (now.get(url) && validator(response) !== now.get(url)) throw new Error(`${url}: changed while updating`);
    }
    await fresh.put(url, response);
  }));
  await fresh.put(new URL(MARKER, scope).href, new Response(new Date().toISOString()));
  current = Promise.resolve(name); // for the navigations from now on; open pages keep theirs
  await prune();
  return { name, files: now.size, downloaded: changed.length };
}

// One change of the caches at a time (an update, a clean-up): a clean-up that ran beside an update
// would delete the cache being built, which no page runs yet.
let queue = Promise.resolve();
const serially = (job) => {
  const run = queue.then(job);
  queue = run.catch(() => {}); // a failed job does not stop the ones after it
  return run;
};

self.addEventListener("message", (event) => {
  if (event.data?.type !== "cache") return;
  const job = serially(() => sync(event.data.urls || [])).then(
    (result) => event.source?.postMessage({ type: "cached", ...result }),
    (error) => {
      current = undefined; // look again: a half-built cache has no marker and is never used
      event.source?.postMessage({ type: "not-cached", error: String(error) });
    },
  );
  event.waitUntil(job);
});
