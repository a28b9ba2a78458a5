// The page's answers: ink from draw.js goes to Python (the worker boot.js started), and what
// Python read comes back and is drawn here: the number in large type, the verdict, ten
// probability bars, the 28x28 image the network saw, boxes around the digits on the canvas and,
// on request, every layer's activations. The words are words.json's; every decision about
// digits is Python's (site/digits/).
//
// "Wrong? It's a ..." (#teach): a correction of the selected digit goes to the worker, which keeps
// it (in this browser only) and reads through it from then on; the canvas is read again at once.
// #taught, #forget, #export-memory and #import-memory show and manage what was learned.
//
// One reading at a time goes to the worker; ink that changes meanwhile waits, and only the
// latest waiting ink is read (a reading of ink already replaced would be thrown away anyway).

const { worker, say, whenReady } = window.digitsPage;
const pad = window.pad; // draw.js
const $ = (id) => document.getElementById(id);
const prediction = $("prediction");
const verdict = $("verdict");
const choices = $("choices");
const bars = [...$("probabilities").querySelectorAll("li")].map((li) => ({
  li, fill: li.querySelector(".fill"), text: li.querySelector(".p") }));
const preview = $("input-preview");
const layers = $("layers");
const layerPictures = $("layer-pictures");
const timing = $("timing");

let reading = null; // the latest reading shown: worker.py's read(), as posted
let selected = 0; // which of its digits the details show
let ready = false;
let busy = false; // a reading is in the worker
let waiting = null; // the latest ink that changed while it was busy (or before Python was ready)
let layersShown = null; // "version/index" of the layer pictures on the page
let learned = null; // the label just taught: the next reading's verdict says it was learned
const scales = new Map(); // ink version -> its scale (ink pixels per CSS pixel), for the boxes
window.digitsTimings = []; // the last readings' timings (bench/browser.py reads them)

// --- words -----------------------------------------------------------------------------------

function percent(p) {
  if (p >= 0.995) return p < 1 ? "99%" : "100%";
  if (p < 0.005) return p > 0 ? "<1%" : "0%";
  return `${Math.round(p * 100)}%`;
}

function ordinal(i) { // 0 -> "1st", 1 -> "2nd", ... (position i counted from 1)
  const n = i + 1;
  const suffix = n % 100 >= 10 && n % 100 <= 20 ? "th" : { 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th";
  return `${n}${suffix}`;
}

const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);

function explain(found) {
  if (!found.length) return say(pad.strokes ? "verdict.nothing_found" : "verdict.blank");
  if (found.length === 1) {
    const d = found[0];
    const confidence = percent(d.probabilities[d.label]);
    if (d.reason === "not a digit") return say("verdict.not_a_digit", { doubt: capital(d.doubt), label: d.label, confidence });
    if (d.doubt) return say("verdict.unsure", { doubt: capital(d.doubt), confidence, second: percent(d.probabilities[d.runner_up]) });
    return say("verdict.sure", { confidence });
  }
  const doubts = found.flatMap((d, i) => (d.doubt ? [say("verdict.digit_doubt", { doubt: d.doubt, ordinal: ordinal(i) })] : []));
  if (doubts.length) return say("verdict.number_unsure", { count: found.length, doubts: capital(doubts.join("; ")) });
  const least = Math.min(...found.map((d) => d.probabilities[d.label]));
  return say("verdict.number_sure", { count: found.length, confidence: percent(least) });
}

// --- pictures --------------------------------------------------------------------------------

function putPixels(canvas, rgba, width, height) {
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d").putImageData(new ImageData(new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.length), width, height), 0, 0);
}

function blankPreview() {
  const c = preview.getContext("2d");
  c.fillStyle = "#000";
  c.fillRect(0, 0, preview.width, preview.height);
}

// --- the answer --------------------------------------------------------------------------------

function select(index) {
  selected = index;
  choices.querySelectorAll("button").forEach((button, k) => button.setAttribute("aria-pressed", String(k === index)));
  const digit = reading?.digits?.[index];
  if (!digit) {
    for (const bar of bars) { bar.fill.style.width = "0%"; bar.text.textContent = "–"; bar.li.className = ""; }
    blankPreview();
    layerPictures.replaceChildren();
    layersShown = null;
    return;
  }
  bars.forEach((bar, k) => {
    const p = digit.probabilities[k];
    bar.fill.style.width = `${(p * 100).toFixed(1)}%`;
    bar.text.textContent = percent(p);
    bar.li.className = k === digit.label ? "top" : digit.unsure && k === digit.runner_up ? "second" : "";
  });
  putPixels(preview, digit.preview, 28, 28);
  if (layers.open) askLayers();
}

function show(answer, scale) {
  reading = answer;
  const found = answer.digits || [];
  // The boxes first: text drawn on a canvas after the DOM has changed in the same task makes the
  // browser bring the page's style up to date there and then (a few ms), not once at the frame.
  pad.mark(found.map((d) => ({ left: d.box[0], top: d.box[1], right: d.box[2], bottom: d.box[3], label: d.label, unsure: d.unsure })), scale);
  prediction.textContent = answer.text || "";
  prediction.classList.toggle("unsure", Boolean(answer.unsure));
  const note = learned === null ? "" : `${say("teach.learned", { label: learned })} `;
  learned = null;
  verdict.textContent = answer.error ? say("verdict.failed", { error: answer.error }) : note + explain(found);
  verdict.classList.toggle("unsure", Boolean(answer.unsure));
  const buttons = found.length > 1 ? found.map((d, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = d.unsure ? `${d.label}?` : String(d.label);
    button.dataset.index = String(i);
    button.setAttribute("aria-label", say("choice", { ordinal: ordinal(i), label: d.label }));
    return button;
  }) : [];
  choices.replaceChildren(...buttons);
  choices.hidden = !buttons.length;
  select(0);
  enableTeach(found.length > 0);
  const pythonMs = answer.ms ? answer.ms.to_numpy + answer.ms.read : 0;
  timing.textContent = found.length ? say("timing", { ms: Math.round(pythonMs) }) : "";
  // Last: tests and assistive technology take these as "a reading has finished".
  prediction.dataset.ink = String(answer.version);
  prediction.dataset.count = String(Number(prediction.dataset.count || 0) + 1);
}

// --- to and from the worker --------------------------------------------------------------------

function send(detail) {
  busy = true;
  scales.set(detail.version, detail.scale);
  const points = detail.points.buffer, lengths = detail.lengths.buffer;
  worker.postMessage({ type: "read", version: detail.version, width: detail.width, height: detail.height,
                       ink: detail.ink, points, lengths, sent: performance.timeOrigin + performance.now(),
                       inkMs: detail.inkMs }, [detail.ink, points, lengths]);
}

function readNext() {
  busy = false;
  if (waiting) {
    const next = waiting;
    waiting = null;
    send(next);
  }
}

$("canvas").addEventListener("ink", ({ detail }) => {
  if (detail.version !== reading?.version) enableTeach(false); // a correction would name the old drawing
  if (ready && !busy) send(detail);
  else waiting = detail; // drawn while Python starts or reads: read once it is free
});

worker?.addEventListener("message", ({ data }) => {
  if (data.type === "reading") {
    const arrived = performance.timeOrigin + performance.now();
    const scale = scales.get(data.version);
    scales.delete(data.version);
    if (!waiting) show(data, scale); // a newer ink is waiting: this answer is already out of date
    const drawn = performance.timeOrigin + performance.now();
    if (data.timing) {
      window.digitsTimings.push({ version: data.version, ...data.timing, ms: data.ms, back: arrived, drawn, shown: !waiting });
      if (window.digitsTimings.length > 50) window.digitsTimings.shift();
    }
    readNext();
  } else if (data.type === "layers") {
    drawLayers(data);
  } else if (data.type === "memory") {
    remembered(data);
  } else if (data.type === "memory-file") {
    download(data.bytes);
  }
});

// --- the layer view ------------------------------------------------------------------------------

function askLayers() {
  const key = `${reading?.version}/${selected}`;
  if (!reading?.digits?.length || layersShown === key) return;
  layersShown = key;
  worker.postMessage({ type: "layers", version: reading.version, index: selected });
}

function drawLayers({ version, index, pictures, error }) {
  if (`${version}/${index}` !== layersShown) return; // asked for another digit since
  if (error) {
    layerPictures.textContent = say("layers.failed", { error });
    return;
  }
  layerPictures.replaceChildren(...pictures.map(({ caption, kind, rgba, width, height }) => {
    const figure = document.createElement("figure");
    const canvas = document.createElement("canvas");
    putPixels(canvas, rgba, width, height);
    canvas.style.width = `${kind === "input" ? width * 4 : Math.min(360, width * 6)}px`;
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", caption);
    const text = document.createElement("figcaption");
    text.textContent = caption;
    figure.append(canvas, text);
    if (kind === "softmax") figure.classList.add("softmax");
    return figure;
  }));
}

choices.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (button) select(Number(button.dataset.index));
});

layers.addEventListener("toggle", () => {
  if (layers.open) askLayers();
});

// --- teaching: what this person corrects, kept on this device ---------------------------------------

const teach = $("teach");
const teachButtons = [...teach.querySelectorAll("button[data-digit]")];
const taught = $("taught");
const forgetButton = $("forget");
const forgetAsk = $("forget-ask");
const exportButton = $("export-memory");
const importInput = $("import-memory");
const memoryMessage = $("memory-message");
let changing = false; // a change of the memory is in the worker: one at a time

function enableTeach(on) {
  const focused = teach.contains(document.activeElement);
  for (const button of teachButtons) button.disabled = !on;
  if (focused && !on) $("canvas").focus({ preventScroll: true }); // not lost to the page's body
}

function showTaught(count) {
  taught.dataset.count = String(count);
  taught.textContent = count === 0 ? say("teach.none") : count === 1 ? say("teach.one") : say("teach.many", { count });
  const focused = document.activeElement;
  forgetButton.disabled = exportButton.disabled = count === 0;
  if (count === 0 && (focused === forgetButton || focused === exportButton || forgetAsk.contains(focused)))
    $("canvas").focus({ preventScroll: true });
  if (count === 0) askForget(false);
}

function notStored(data) {
  if (data.stored === false) memoryMessage.textContent = say("teach.not_kept", { error: data.storeError });
}

window.digitsPage.words.then(() => {
  for (const button of teachButtons) button.setAttribute("aria-label", say("teach.button", { digit: button.dataset.digit }));
}, () => {}); // no words: boot.js shows the error

teachButtons.forEach((button) => button.addEventListener("click", () => {
  const digit = reading?.digits?.[selected];
  if (!digit || changing || button.disabled) return;
  changing = true;
  worker.postMessage({ type: "teach", version: reading.version, index: selected, label: Number(button.dataset.digit) });
}));

// The worker's answer to teach, forget or import (or news of another tab's change): the count, a
// message where one is due, and the canvas read again through the memory as it is now.
function remembered(data) {
  changing = false;
  showTaught(data.count);
  if (data.reason === "teach") {
    if (data.error) memoryMessage.textContent = say("teach.stale");
    else { memoryMessage.textContent = ""; learned = data.label; }
  } else if (data.reason === "forget") {
    memoryMessage.textContent = say("teach.forgot");
  } else if (data.reason === "import") {
    memoryMessage.textContent = data.error
      ? say("teach.import_refused", { file: data.name, error: data.error.replace(/\.$/, "") })
      : say("teach.imported", { count: data.count, file: data.name });
  } else if (data.reason === "elsewhere") {
    memoryMessage.textContent = say("teach.elsewhere");
  }
  notStored(data);
  if (!data.error && pad.strokes) pad.emit(); // the drawing, read again as the memory now reads it
}

// Forget asks first, in the page: the button gives way to "Forget 12 digits? Yes / No".
function askForget(open) {
  const count = Number(taught.dataset.count);
  $("forget-question").textContent = count === 1 ? say("teach.forget_ask_one") : say("teach.forget_ask", { count });
  const was = !forgetAsk.hidden;
  forgetAsk.hidden = !open;
  forgetButton.hidden = open;
  if (open) $("forget-no").focus();
  else if (was && forgetAsk.contains(document.activeElement)) (forgetButton.disabled ? $("canvas") : forgetButton).focus();
}
forgetButton.addEventListener("click", () => askForget(true));
$("forget-no").addEventListener("click", () => askForget(false));
$("forget-yes").addEventListener("click", () => {
  if (changing) return;
  changing = true;
  askForget(false);
  worker.postMessage({ type: "forget" });
});
forgetAsk.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  event.preventDefault(); // Escape says No here; it does not clear the canvas
  askForget(false);
});

exportButton.addEventListener("click", () => worker.postMessage({ type: "export" }));

function download(bytes) {
  const url = URL.createObjectURL(new Blob([bytes], { type: "application/octet-stream" }));
  const link = Object.assign(document.createElement("a"), { href: url, download: say("teach.file") });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

importInput.addEventListener("change", async () => {
  const file = importInput.files?.[0];
  importInput.value = ""; // the same file may be chosen again
  if (!file || changing) return;
  changing = true;
  const bytes = await file.arrayBuffer();
  worker.postMessage({ type: "import", bytes, name: file.name }, [bytes]);
});

// The last reading's stages timed one by one, and what reached Python (bench/browser.py, tests).
window.digitsPage.profile = () => new Promise((resolve) => {
  const answer = ({ data }) => {
    if (data.type !== "profile") return;
    worker.removeEventListener("message", answer);
    resolve(data);
  };
  worker.addEventListener("message", answer);
  worker.postMessage({ type: "profile" });
});

// --- ready ---------------------------------------------------------------------------------------

worker?.addEventListener("message", ({ data }) => {
  if (data.type !== "ready") return;
  showTaught(data.taught || 0);
  notStored(data);
  const facts = data.facts;
  let text = say("facts.model", { parameters: facts.parameters.toLocaleString("en"),
                                   megamacs: (facts.multiply_adds / 1e6).toFixed(1) });
  if (typeof facts.test_accuracy === "number") text += say("facts.accuracy", { accuracy: `${(facts.test_accuracy * 100).toFixed(2)}%` });
  $("model-facts").textContent = text + say("facts.end");
});
// The first reading after ready would run the code that draws an answer for the first time,
// several times slower than ever after: in idle time, run what of it changes nothing the person
// sees (the ink's rendering and the boxes, off screen, by draw.js; the words of made-up answers;
// a picture on a scratch canvas). The worker warms its Python the same way (worker.js).
function warm() {
  pad.warm();
  const sure = Float32Array.from({ length: 10 }, (_, k) => (k === 7 ? 0.96 : 0.004));
  const torn = Float32Array.from({ length: 10 }, (_, k) => (k === 1 ? 0.5 : k === 7 ? 0.46 : 0.004));
  explain([{ label: 7, probabilities: sure, doubt: "", reason: "", runner_up: 1 }]);
  explain([{ label: 7, probabilities: sure, doubt: "", reason: "", runner_up: 1 },
           { label: 1, probabilities: torn, doubt: "not sure: 1 or 7?", reason: "unsure", runner_up: 7 }]);
  putPixels(document.createElement("canvas"), new Uint8Array(28 * 28 * 4), 28, 28);
}

whenReady(() => {
  ready = true;
  if (pad.strokes) pad.emit(); // drawn while Python was starting
  else if (waiting) readNext();
  if (window.requestIdleCallback) requestIdleCallback(warm, { timeout: 500 });
  else setTimeout(warm, 0);
});
blankPreview();
